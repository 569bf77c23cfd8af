"""What ``make run`` starts: every service and gateway that exists, supervised by honcho."""
import importlib
import os
import shutil
import subprocess
import sys
import time

from kombu import Connection

from services.common.config import ROOT
from services.contract import HTTP_PORTS, METRICS_PORTS, SERVICES


def port_offset():
    """CRM_PORT_OFFSET shifts every HTTP and metrics port (a second stack on one host)."""
    return int(os.environ.get("CRM_PORT_OFFSET", "0") or 0)


def http_port(service):
    return HTTP_PORTS[service] + port_offset()


def metrics_port(service):
    return METRICS_PORTS[service] + port_offset()


def components():
    """[(process name, 'module:Class', env)] for each built service and gateway."""
    out = []
    for service in SERVICES:
        pkg = importlib.import_module(f"services.{service}")
        if getattr(pkg, "SERVICE", None):
            out.append((service, pkg.SERVICE, {"METRICS_PORT": str(metrics_port(service))}))
        if getattr(pkg, "GATEWAY", None):
            out.append((f"{service}_gateway", pkg.GATEWAY,
                        {"WEB_SERVER_ADDRESS": f"127.0.0.1:{http_port(service)}"}))
    return out


def built_services():
    return [s for s in SERVICES if getattr(importlib.import_module(f"services.{s}"),
                                           "SERVICE", None)]


def broker_up(uri, timeout=3):
    try:
        with Connection(uri, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


def ensure_broker(uri, echo=print, wait=60):
    """Use the running broker; start a local rabbitmq-server if installed but down."""
    if broker_up(uri):
        return True
    local = "127.0.0.1" in uri or "localhost" in uri
    server = shutil.which("rabbitmq-server") or (
        "/usr/sbin/rabbitmq-server" if os.path.exists("/usr/sbin/rabbitmq-server") else None)
    if not local or not server:
        echo(f"RabbitMQ is not reachable at {uri}.\n"
             "Install and start it, e.g. on Debian/Ubuntu:\n"
             "    sudo apt-get install rabbitmq-server && sudo rabbitmq-server -detached\n"
             "on macOS: brew install rabbitmq && brew services start rabbitmq\n"
             "or point AMQP_URI at a running broker.")
        return False
    echo(f"RabbitMQ is installed but not running: starting `{server} -detached` ...")
    subprocess.run([server, "-detached"], check=False)
    deadline = time.time() + wait
    while time.time() < deadline:
        if broker_up(uri):
            echo("RabbitMQ is up.")
            return True
        time.sleep(1)
    echo("RabbitMQ did not come up in time; see /var/log/rabbitmq/ for the reason.")
    return False


def own_bus_uri(name, prefix):
    """The component's own AMQP URI (its least-privilege user), or None."""
    from services.common.bus_provision import component_uri
    from services.common.config import load_config, var_dir
    cfg = load_config()
    return component_uri(cfg["AMQP_URI"], var_dir(cfg), prefix + name)


def supervise(config_path="config.yml", echo=print, bus_user_prefix=None):
    """Run every component as its own process until Ctrl-C (honcho); with
    ``bus_user_prefix`` (the bus users exist) each connects as its own user."""
    from honcho.manager import Manager

    manager = Manager()
    nameko = os.path.join(os.path.dirname(sys.executable), "nameko")
    for name, target, env in components():
        if bus_user_prefix is not None:
            uri = own_bus_uri(name, bus_user_prefix)
            env = dict(env, AMQP_URI=uri) if uri else env
        proc_env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONWARNINGS="ignore", **env)
        manager.add_process(name, f"{nameko} run --config {config_path} {target}",
                            env=proc_env, cwd=str(ROOT))
    manager.loop()
    return manager.returncode
