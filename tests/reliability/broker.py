"""A private RabbitMQ node for the broker-restart scenario, so the shared
broker is never stopped: chaos@localhost on 5712 (dist 25712), data and logs
under a temp dir. ``stop_app``/``start_app`` act on this node only."""
import os
import shutil
import subprocess
import tempfile
import time

from tests.reliability.stack import rabbitmqctl
from tests.support.infra import broker_reachable

NODE = "chaos@localhost"
PORT = 5712


def available():
    return bool(shutil.which("rabbitmq-server") or os.path.exists("/usr/sbin/rabbitmq-server"))


class PrivateBroker:
    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="crm-chaos-rabbit-")
        self.uri = f"amqp://guest:guest@127.0.0.1:{PORT}"
        self.started = False

    def env(self):
        for sub in ("mnesia", "log"):
            os.makedirs(os.path.join(self.base, sub), exist_ok=True)
        try:  # the server script may drop to the rabbitmq user
            import pwd
            user = pwd.getpwnam("rabbitmq")
            for root, dirs, _files in os.walk(self.base):
                for d in [root, *[os.path.join(root, x) for x in dirs]]:
                    os.chown(d, user.pw_uid, user.pw_gid)
        except (KeyError, PermissionError):
            pass
        plugins = os.path.join(self.base, "enabled_plugins")
        with open(plugins, "w") as fh:
            fh.write("[].\n")
        return dict(os.environ, RABBITMQ_NODENAME=NODE, RABBITMQ_NODE_PORT=str(PORT),
                    RABBITMQ_NODE_IP_ADDRESS="127.0.0.1", RABBITMQ_DIST_PORT="25712",
                    RABBITMQ_MNESIA_BASE=os.path.join(self.base, "mnesia"),
                    RABBITMQ_LOG_BASE=os.path.join(self.base, "log"),
                    RABBITMQ_ENABLED_PLUGINS_FILE=plugins,
                    RABBITMQ_CONFIG_FILE=os.path.join(self.base, "rabbitmq"),
                    RABBITMQ_PID_FILE=os.path.join(self.base, "rabbit.pid"))

    def start(self, timeout=90):
        server = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"
        subprocess.run([server, "-detached"], env=self.env(), check=False, timeout=60,
                       capture_output=True, cwd=self.base)
        self.started = True
        deadline = time.time() + timeout
        while True:  # the node registers with epmd a few seconds after -detached returns
            r = rabbitmqctl("await_startup", node=NODE, timeout=timeout)
            if r.returncode == 0 and broker_reachable(f"{self.uri}/"):
                return self  # booted and its AMQP listener answers
            if time.time() > deadline:
                raise RuntimeError(f"private RabbitMQ node did not start: {r.stderr[-500:]}")
            time.sleep(1)

    def stop_app(self):
        r = rabbitmqctl("stop_app", node=NODE, timeout=60)
        assert r.returncode == 0, r.stderr

    def start_app(self):
        r = rabbitmqctl("start_app", node=NODE, timeout=90)
        assert r.returncode == 0, r.stderr

    def stop(self):
        if self.started:
            try:
                rabbitmqctl("stop", node=NODE, timeout=60)
            except (OSError, subprocess.SubprocessError):
                pass
            time.sleep(1)
        shutil.rmtree(self.base, ignore_errors=True)
