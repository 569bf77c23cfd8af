"""Infrastructure of one benchmark run: vhost, databases, service processes."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from services.common.config import ROOT

BROKER = os.environ.get("BENCH_AMQP_BASE", "amqp://guest:guest@127.0.0.1:5672")
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
NAMEKO = str(Path(sys.executable).parent / "nameko")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ctl(*args, timeout=30):
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    return subprocess.run([ctl, *args], capture_output=True, text=True, timeout=timeout)


class Vhost:
    def __init__(self):
        self.name = f"crm-bench-{uuid.uuid4().hex[:8]}"
        self.uri = f"{BROKER}/{self.name}"

    def create(self):
        r = _ctl("add_vhost", self.name)
        if r.returncode != 0:
            raise RuntimeError(f"rabbitmqctl add_vhost failed: {r.stderr.strip()}")
        _ctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        return self.uri

    def drop(self):
        try:
            _ctl("delete_vhost", self.name, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"warning: could not delete vhost {self.name}: {exc}")


class PgDatabase:
    def __init__(self, service):
        self.name = f"crm_bench_{uuid.uuid4().hex[:8]}_{service}"
        self.url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.name

    def _admin(self):
        import psycopg2
        conn = psycopg2.connect(PG_ADMIN, connect_timeout=5)
        conn.autocommit = True
        return conn

    def create(self):
        conn = self._admin()
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{self.name}"')
        conn.close()
        return self.url

    def drop(self):
        try:
            conn = self._admin()
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.close()
        except Exception as exc:  # noqa: BLE001
            print(f"warning: could not drop {self.name}: {exc}")


class Stack:
    """Service processes started as ``make run`` starts them:
    ``nameko run --config config.yml <module:Class>`` with env overrides."""

    def __init__(self, amqp_uri, db_urls, log_dir):
        self.amqp_uri = amqp_uri
        self.db_urls = dict(db_urls)
        self.log_dir = Path(log_dir)
        self.var_dir = tempfile.mkdtemp(prefix="crm-bench-var-")
        self.procs = {}

    def env(self, extra=None, db_urls=None):
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONWARNINGS="ignore",
                   AMQP_URI=self.amqp_uri, CRM_VAR_DIR=self.var_dir, LOG_LEVEL="WARNING",
                   METRICS_PORT="0")
        for service, url in (db_urls or self.db_urls).items():
            env[f"{service.upper()}_DATABASE_URL"] = url
        env.update(extra or {})
        return env

    def start(self, name, target, extra_env=None, db_urls=None):
        log = open(self.log_dir / f"{name}.log", "w")
        proc = subprocess.Popen([NAMEKO, "run", "--config", "config.yml", target], cwd=str(ROOT),
                                env=self.env(extra_env, db_urls), stdout=log,
                                stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def stop(self, name, timeout=15):
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)
        shutil.rmtree(self.var_dir, ignore_errors=True)

    def pid(self, name):
        return self.procs[name].pid

    def alive(self, name):
        return self.procs[name].poll() is None


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def wait_until(check, timeout=60, interval=0.3, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            if check():
                return True
        except Exception as exc:  # noqa: BLE001
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout}s ({last})")
