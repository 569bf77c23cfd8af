"""A private RabbitMQ node for the broker-restart scenario, so the shared
broker is never stopped. ``stop_app``/``start_app`` act on this node only.

Every start is a new node: a unique name (``crm-chaos-<pid>-<hex>@localhost``),
a free AMQP port and a free distribution port (both on loopback), data and logs
under a fresh temp dir. Nothing is shared with an earlier node that may still
be going down (its epmd name, its ports, its mnesia dir), so back-to-back runs
cannot reach the wrong node or find their port taken.

The node runs in the foreground (not ``-detached``) as our child, so start-up
fails at once, with the node's own output, if it exits; every process of it
carries a marker in its environment, so ``stop()`` can make sure all of them
are gone (SIGKILL if the graceful stop does not finish) and its name has left
epmd — also when a start failed or pytest is interrupted.
"""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

from tests.reliability.stack import free_port, rabbitmqctl
from tests.support.infra import broker_reachable

SERVER = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"
EPMD = shutil.which("epmd") or "/usr/bin/epmd"
_RUNNING = set()  # brokers whose node may still be up (reaped at exit)


def available():
    return os.path.exists(SERVER)


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def epmd_names():
    """Node names (without host) registered with the local epmd."""
    try:
        out = subprocess.run([EPMD, "-names"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return set()
    return {line.split()[1] for line in out.stdout.splitlines() if line.startswith("name ")}


def marked_pids(marker):
    """Pids of the live processes whose environment holds ``marker`` (``K=V``):
    the node's wrapper, su, shell, beam.smp and its helpers. (``su`` starts the
    node in a session of its own, and beam outlives a killed wrapper, so neither
    the session nor the parent chain finds them all; the inherited environment does.)"""
    needle = marker.encode() + b"\0"
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                environ = fh.read()
            with open(f"/proc/{entry}/stat") as fh:
                comm, rest = fh.read().split("(", 1)[1].rsplit(")", 1)
        except OSError:
            continue
        # epmd, if this node had to start it, serves every node on the host: left alone
        mine = environ.startswith(needle) or b"\0" + needle in environ
        if mine and rest.split()[0] != "Z" and comm != "epmd":
            pids.append(int(entry))
    return pids


class PrivateBroker:
    def __init__(self):
        self.base = None
        self.proc = None
        self.node = self.name = None
        self.port = self.dist_port = None
        self.uri = None
        self.attempts = 0

    # --- start -----------------------------------------------------------------
    def _fresh(self):
        self.base = tempfile.mkdtemp(prefix="crm-chaos-rabbit-")
        self.name = f"crm-chaos-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.node = f"{self.name}@localhost"
        self.port, self.dist_port = free_port(), free_port()
        while self.dist_port == self.port:
            self.dist_port = free_port()
        self.uri = f"amqp://guest:guest@127.0.0.1:{self.port}"
        self.marker = f"CRM_CHAOS_RABBIT_NODE={self.node}"

    def env(self):
        for sub in ("mnesia", "log"):
            os.makedirs(os.path.join(self.base, sub), exist_ok=True)
        plugins = os.path.join(self.base, "enabled_plugins")
        with open(plugins, "w") as fh:
            fh.write("[].\n")
        try:  # the server script drops to the rabbitmq user when run as root
            import pwd
            user = pwd.getpwnam("rabbitmq")
            for root, dirs, files in os.walk(self.base):
                for p in [root, *[os.path.join(root, x) for x in dirs + files]]:
                    os.chown(p, user.pw_uid, user.pw_gid)
        except (KeyError, PermissionError):
            pass
        key, value = self.marker.split("=", 1)
        return dict(os.environ, **{key: value}, RABBITMQ_NODENAME=self.node,
                    RABBITMQ_NODE_PORT=str(self.port),
                    RABBITMQ_NODE_IP_ADDRESS="127.0.0.1", RABBITMQ_DIST_PORT=str(self.dist_port),
                    # distribution on loopback only, like the AMQP listener
                    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface "
                                                        "{127,0,0,1}",
                    RABBITMQ_MNESIA_BASE=os.path.join(self.base, "mnesia"),
                    RABBITMQ_LOG_BASE=os.path.join(self.base, "log"),
                    RABBITMQ_ENABLED_PLUGINS_FILE=plugins,
                    RABBITMQ_CONFIG_FILE=os.path.join(self.base, "rabbitmq"),
                    RABBITMQ_PID_FILE=os.path.join(self.base, "rabbit.pid"))

    def start(self, timeout=90, attempts=3):
        """Start a new node and return once it has booted and its AMQP port
        answers a login. A node that exits or never gets ready is stopped
        (nothing of it left) and a new one, with new ports, is tried."""
        errors = []
        for _ in range(attempts):
            self.attempts += 1
            self._fresh()
            try:
                self._boot(timeout)
                return self
            except RuntimeError as exc:
                errors.append(str(exc))
                try:
                    self.stop()
                except AssertionError as gone:
                    errors.append(str(gone))
        raise RuntimeError("private RabbitMQ node did not start:\n" + "\n---\n".join(errors))

    def _boot(self, timeout):
        log = open(os.path.join(self.base, "stdout.log"), "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([SERVER], env=self.env(), stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, cwd=self.base,
                                     start_new_session=True)
        log.close()
        _RUNNING.add(self)
        deadline = time.time() + timeout
        last = ""
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.node} exited with {self.proc.returncode} during "
                                   f"start-up (port {self.port}, dist {self.dist_port}):\n"
                                   f"{self.tail()}")
            left = deadline - time.time()
            if left <= 0:
                raise RuntimeError(f"{self.node} not ready within {timeout}s: {last[-500:]}\n"
                                   f"{self.tail()}")
            # fails at once until the node registered with epmd, then waits for its boot
            r = rabbitmqctl("await_startup", node=self.node, timeout=int(max(5, min(30, left))))
            last = r.stderr or r.stdout
            if r.returncode == 0 and broker_reachable(f"{self.uri}/"):
                return  # booted, and its AMQP listener takes a login
            time.sleep(0.5)

    def tail(self, lines=20):
        out = []
        for path in (os.path.join(self.base or "", "stdout.log"),
                     os.path.join(self.base or "", "log", f"{self.node}.log")):
            try:
                with open(path, errors="replace") as fh:
                    out += fh.read().splitlines()[-lines:]
            except OSError:
                pass
        return "\n".join(out)

    # --- faults ---------------------------------------------------------------
    def stop_app(self):
        r = rabbitmqctl("stop_app", node=self.node, timeout=60)
        assert r.returncode == 0, r.stderr

    def start_app(self):
        r = rabbitmqctl("start_app", node=self.node, timeout=90)
        assert r.returncode == 0, r.stderr

    # --- stop -----------------------------------------------------------------
    def stop(self, timeout=30):
        """Stop the node and make sure it is gone: no process of its session left,
        its name out of epmd, its AMQP port closed; then remove its files."""
        proc = self.proc
        if proc is not None:
            if proc.poll() is None:
                try:
                    rabbitmqctl("stop", node=self.node, timeout=timeout)
                except (OSError, subprocess.SubprocessError):
                    pass
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    pass
            self._kill_rest(proc)
            self._wait_gone(timeout)
            self.proc = None
        _RUNNING.discard(self)
        if self.base:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def _kill_rest(self, proc):
        """SIGTERM, then SIGKILL, whatever process of this node is still alive."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = marked_pids(self.marker)
            if not pids and proc.poll() is not None:
                break
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.time() + 10
            while time.time() < deadline and (marked_pids(self.marker) or proc.poll() is None):
                time.sleep(0.2)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        left = marked_pids(self.marker)
        assert not left, f"processes of {self.node} survived SIGKILL: {left}"

    def _wait_gone(self, timeout):
        deadline = time.time() + timeout
        while self.name in epmd_names():  # its processes are dead: epmd drops it at once
            if time.time() > deadline:
                raise AssertionError(f"{self.node} still registered with epmd after stop")
            time.sleep(0.2)


@atexit.register
def _reap():  # an interrupted run must not leave a node behind
    for broker in list(_RUNNING):
        try:
            broker.stop(timeout=10)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
