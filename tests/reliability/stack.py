"""A whole CRM stack as `make run` starts it, for fault injection.

Each component is its own ``nameko run --config <cfg> <module:Class>``
process with METRICS_PORT / WEB_SERVER_ADDRESS and the DB URLs in its
environment, on a private vhost and private SQLite files, so the chaos suite
never disturbs anyone else on the broker. Processes can be SIGKILLed,
SIGTERMed and restarted; figures are read from the databases themselves
(source outboxes versus reporting's inbox and event log).
"""
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from kombu import Connection

from services.common.bus import setup_bus
from services.common.config import ROOT
from services.common.migrate import upgrade
from services.contract import CONSUMERS, queue_name

# below the kernel's ephemeral range: a port kept for a service across its restarts
# cannot be taken meanwhile by one of the many outgoing connections a chaos scenario
# makes (chaos 9 failed so: "Address already in use" on sales' metrics port)
from tests.support.fixtures import free_port

NAMEKO = str(Path(sys.executable).with_name("nameko"))
CTL = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
BROKER = os.environ.get("CRM_CHAOS_AMQP_BASE", "amqp://guest:guest@127.0.0.1:5672")
SOURCES = ("customers", "sales", "service_desk")
TARGETS = {
    "customers": "services.customers.service:CustomersService",
    "sales": "services.sales.service:SalesService",
    "service_desk": "services.service_desk.service:ServiceDeskService",
    "reporting": "services.reporting.service:ReportingService",
    "customers_gateway": "services.customers.gateway:CustomersGateway",
    "sales_gateway": "services.sales.gateway:SalesGateway",
    "service_desk_gateway": "services.service_desk.gateway:ServiceDeskGateway",
    "reporting_gateway": "services.reporting.gateway:ReportingGateway",
}
REPORTING_HANDLER = "reporting.apply_event"


def scale():
    return float(os.environ.get("CRM_CHAOS_SCALE", "0.05"))


def scaled(n, minimum=1):
    return max(minimum, int(round(n * scale())))


def rabbitmqctl(*args, node=None, timeout=30):
    cmd = [CTL] + (["-n", node] if node else []) + ["--timeout", str(timeout), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 15)


class Vhost:
    def __init__(self, tag, node=None, base=BROKER):
        self.name = f"crm-chaos-{tag}-{uuid.uuid4().hex[:6]}"
        self.node = node
        self.uri = f"{base}/{self.name}"

    def create(self):
        r = rabbitmqctl("add_vhost", self.name, node=self.node)
        assert r.returncode == 0, r.stderr
        r = rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*",
                        node=self.node)
        assert r.returncode == 0, r.stderr
        return self.uri

    def drop(self):
        try:
            rabbitmqctl("delete_vhost", self.name, node=self.node)
        except (OSError, subprocess.SubprocessError):
            pass


def wait_for(fn, timeout, interval=0.2, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as exc:  # noqa: BLE001 - keep polling
            last = exc
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout}s (last: {last!r})")


def scrape(port):
    """{metric line name with labels: value} from a /metrics endpoint."""
    out = {}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3) as resp:
        for line in resp.read().decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                try:
                    out[name] = float(value)
                except ValueError:
                    pass
    return out


def metric_sum(sample, prefix, **labels):
    total = 0.0
    for name, value in sample.items():
        if name.split("{")[0] != prefix:
            continue
        if all(f'{k}="{v}"' in name for k, v in labels.items()):
            total += value
    return total


class _PgReader:
    """The slice of sqlite3's connection API the figures use, on psycopg2
    (``?`` placeholders; autocommit, so every query sees the latest commits)."""

    def __init__(self, url):
        import psycopg2
        self.conn = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"),
                                     connect_timeout=10)
        self.conn.autocommit = True

    def execute(self, sql, params=()):
        cur = self.conn.cursor()
        cur.execute(sql.replace("?", "%s"), params)
        return cur

    def close(self):
        self.conn.close()


class Stack:
    """Processes of one stack. ``amqp_uri`` is what services use (maybe a proxy)."""

    def __init__(self, workdir, amqp_uri, *, heartbeat=10, rpc_timeout=10, delivery_limit=3,
                 max_workers=10, service_amqp=None, db_urls=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "logs").mkdir(exist_ok=True)
        self.amqp_uri = amqp_uri
        self.service_amqp = dict(service_amqp or {})  # component -> AMQP URI (e.g. a proxy)
        self.db_urls = {s: f"sqlite:///{self.dir}/{s}.db" for s in TARGETS if "_" not in s
                        or s == "service_desk"}
        self.db_urls["marketing"] = f"sqlite:///{self.dir}/marketing.db"
        self.db_urls.update(db_urls or {})  # e.g. PostgreSQL databases of this stack
        self.procs = {}
        self.ports = {}
        self.starts = {}
        self.exit_codes = []
        self.rpc_timeout = rpc_timeout
        self.delivery_limit = delivery_limit
        self.max_workers = max_workers
        self.config_path = self.dir / "config.yml"
        # config.yml verbatim, plus an AMQP heartbeat short enough to detect a cut
        text = (ROOT / "config.yml").read_text(encoding="utf-8")
        self.config_path.write_text(text + f"HEARTBEAT: ${{AMQP_HEARTBEAT:{heartbeat}}}\n"
                                    "DLQ_MONITOR_INTERVAL: 2\n", encoding="utf-8")

    # --- setup ---------------------------------------------------------------
    def prepare(self):
        for service in ("customers", "sales", "service_desk", "reporting"):
            upgrade(service, self.db_urls[service])
        setup_bus(self.amqp_uri, self.delivery_limit, "classic")
        return self

    def config(self):
        from services.common.config import load_config
        cfg = load_config(self.config_path)
        cfg["AMQP_URI"] = self.amqp_uri
        cfg["DB_URIS"] = dict(self.db_urls)
        cfg["EVENT_DELIVERY_LIMIT"] = self.delivery_limit
        return cfg

    def env(self, name):
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONWARNINGS="ignore",
                   AMQP_URI=self.service_amqp.get(name, self.amqp_uri),
                   RPC_TIMEOUT=str(self.rpc_timeout),
                   EVENT_DELIVERY_LIMIT=str(self.delivery_limit),
                   MAX_WORKERS=str(self.max_workers), CRM_VAR_DIR=str(self.dir / "var"),
                   LOG_LEVEL="INFO")
        env.pop("CRM_CONFIG", None)
        for service, url in self.db_urls.items():
            env[f"{service.upper()}_DATABASE_URL"] = url
        if name not in self.ports:
            self.ports[name] = free_port()
        if name.endswith("_gateway"):
            env["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{self.ports[name]}"
        else:
            env["METRICS_PORT"] = str(self.ports[name])
        return env

    # --- processes -----------------------------------------------------------
    def start(self, *names, wait=True):
        for name in names:
            assert name not in self.procs or self.procs[name].poll() is not None, name
            self.starts[name] = self.starts.get(name, 0) + 1
            log = open(self.dir / "logs" / f"{name}.log", "ab")  # noqa: SIM115
            self.procs[name] = subprocess.Popen(
                [NAMEKO, "run", "--config", str(self.config_path), TARGETS[name]],
                env=self.env(name), cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
            log.close()
        if wait:
            for name in names:
                self.wait_ready(name)
        return self

    def url(self, gateway):
        return f"http://127.0.0.1:{self.ports[gateway]}"

    def wait_ready(self, name, timeout=60):
        proc = self.procs[name]

        def ready():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: {self.tail(name)}")
            if name.endswith("_gateway"):
                urllib.request.urlopen(self.url(name) + "/health", timeout=2)
                return True
            scrape(self.ports[name])
            return self.consumers_ready(name)

        wait_for(ready, timeout, 0.3, f"{name} ready")

    def queues_of(self, name):
        qs = [f"rpc-{name}"] if name != "reporting" else []
        for method, pairs in CONSUMERS.get(name, {}).items():
            qs += [queue_name(src, et, name, method) for src, et in pairs]
        return qs

    def consumers_ready(self, name):
        with Connection(self.amqp_uri, connect_timeout=3) as conn:
            ch = conn.channel()
            for q in self.queues_of(name):
                try:
                    _, _, consumers = ch.queue_declare(q, passive=True)
                except Exception:  # noqa: BLE001 - rpc queue not declared yet
                    return False
                if consumers < 1:
                    return False
        return True

    def queue_depth(self, name):
        total = 0
        with Connection(self.amqp_uri, connect_timeout=3) as conn:
            ch = conn.channel()
            for q in self.queues_of(name):
                if q.startswith("rpc-"):
                    continue
                _, n, _ = ch.queue_declare(q, passive=True)
                total += n
        return total

    def kill(self, name, sig=signal.SIGKILL, wait=True, timeout=60):
        proc = self.procs[name]
        if proc.poll() is not None:
            return proc.returncode
        proc.send_signal(sig)
        if wait:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
                raise AssertionError(f"{name} did not exit within {timeout}s of {sig!r}") from None
            self.exit_codes.append((name, sig, proc.returncode))
        return proc.returncode

    def alive(self, name):
        return name in self.procs and self.procs[name].poll() is None

    def stop_all(self):
        for proc in list(self.procs.values()):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in list(self.procs.values()):
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def tail(self, name, lines=30):
        path = self.dir / "logs" / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # --- figures from the databases ----------------------------------------------
    def _db(self, service):
        url = self.db_urls[service]
        if url.startswith("sqlite"):
            return contextlib.closing(sqlite3.connect(f"file:{url.split('sqlite:///', 1)[1]}"
                                                      "?mode=ro", uri=True, timeout=30))
        return contextlib.closing(_PgReader(url))

    def committed(self):
        """{event_id: envelope} of every event the sources committed to their outbox."""
        out = {}
        for s in SOURCES:
            with self._db(s) as db:
                for event_id, env in db.execute(  # what reporting.apply_event consumes
                        "SELECT event_id, envelope FROM outbox WHERE event_type NOT IN "
                        "('audit_checkpoint', 'contact_erased')"):
                    out[event_id] = json.loads(env) if isinstance(env, str) else env
        return out

    def unsent(self, service=None):
        n = 0
        for s in [service] if service else SOURCES:
            with self._db(s) as db:
                n += db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        return n

    def applied(self):
        """(inbox event ids, event_log rows, distinct event_log ids, max lag seconds)."""
        with self._db("reporting") as db:
            inbox = [r[0] for r in db.execute(
                "SELECT event_id FROM inbox WHERE handler = ?", (REPORTING_HANDLER,))]
            rows, distinct, lag = db.execute(
                "SELECT count(*), count(DISTINCT event_id), max(lag_seconds) FROM event_log"
            ).fetchone()
        return inbox, rows, distinct, lag or 0.0

    def source_kpis(self):
        """KPIs recomputed from the source services' own tables (whole stack = one year)."""
        with self._db("customers") as db:
            customers = db.execute("SELECT count(*) FROM customers").fetchone()[0]
        with self._db("sales") as db:
            leads = db.execute("SELECT count(*) FROM leads").fetchone()[0]
            sales = db.execute("SELECT coalesce(sum(amount), 0) FROM orders "
                               "WHERE status != 'cancelled'").fetchone()[0]
            paid = db.execute("SELECT coalesce(sum(amount), 0) FROM payments").fetchone()[0]
            opps = db.execute("SELECT count(*) FROM opportunities").fetchone()[0]
        with self._db("service_desk") as db:
            tickets = db.execute("SELECT count(*) FROM tickets").fetchone()[0]
        return {"customers_new": customers, "leads_new": leads, "tickets_new": tickets,
                "sales_amount": f"{float(sales):.2f}", "payments_received": f"{float(paid):.2f}",
                "opportunities": opps}
