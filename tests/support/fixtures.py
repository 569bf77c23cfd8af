"""pytest fixtures: config on a fresh vhost + databases, services in-process,
standalone RPC, gateways on free ports, event taps."""
import contextlib
import os
import random
import socket
import tempfile

import pytest
from nameko.containers import ServiceContainer

from services.common.bus import setup_bus
from services.common.config import load_config
from services.common.migrate import upgrade
from services.contract import SERVICES
from tests.support.infra import PgDatabases, Vhost
from tests.support.tap import EventTap


def free_port():
    """A port nothing listens on, below the kernel's ephemeral range (32768+): between
    this check and the service's bind, no outgoing connection of this or a parallel
    test worker (tests/support/parallel.py) can take it, as it could a bind(0) port."""
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def amqp_uri():
    vhost = Vhost()
    uri = vhost.create()
    yield uri
    vhost.drop()


@pytest.fixture(scope="session")
def db_urls(tmp_path_factory):
    backend = os.environ.get("CRM_TEST_DB", "sqlite")
    if backend == "postgres":
        dbs = PgDatabases(SERVICES)
        urls = dbs.create()
        yield urls
        dbs.drop()
        return
    folder = tmp_path_factory.mktemp("db")
    yield {s: f"sqlite:///{folder}/{s}.db" for s in SERVICES}


@pytest.fixture(scope="session")
def config(amqp_uri, db_urls):
    cfg = load_config()
    cfg["AMQP_URI"] = amqp_uri
    cfg["DB_URIS"] = dict(db_urls)
    cfg["METRICS_PORT"] = 0
    cfg["VAR_DIR"] = tempfile.mkdtemp(prefix="crm-var-")
    cfg["EVENT_DELIVERY_LIMIT"] = 3
    cfg.pop("LOGGING", None)
    for service, url in db_urls.items():
        from services.common.migrate import has_migrations
        if has_migrations(service):
            upgrade(service, url)
    from services.contract import bus_settings
    setup_bus(amqp_uri, *bus_settings(cfg))
    return cfg


@pytest.fixture
def start_service(config):
    """start_service(ServiceClass, **config_overrides) -> running container."""
    containers = []

    def start(cls, **overrides):
        cfg = dict(config, **overrides)
        container = ServiceContainer(cls, cfg)
        container.start()
        containers.append(container)
        return container

    yield start
    for c in reversed(containers):
        c.stop()


@pytest.fixture
def start_gateway(start_service):
    """start_gateway(GatewayClass) -> base URL."""

    def start(cls):
        port = free_port()
        start_service(cls, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
        return f"http://127.0.0.1:{port}"

    return start


@pytest.fixture
def rpc(config):
    """``with rpc(actor) as proxy: proxy.customers.create_customer(...)``: calls as
    the user ``actor`` (a token minted for it), else as a service principal
    (``service``, default ``cli``, role system), or with a given ``token``."""
    from services.common.cli.rpc_client import CLI_PRINCIPAL, cluster

    def make(actor=None, timeout=15, token=None, service=CLI_PRINCIPAL):
        return cluster(config, actor, timeout, token=token, service=service)

    return make


@pytest.fixture
def event_tap(config):
    """event_tap(source, *types) -> EventTap collecting published envelopes."""
    taps = []

    def make(source, *types):
        tap = EventTap(config["AMQP_URI"], source, types)
        tap.start()
        taps.append(tap)
        return tap

    yield make
    for t in taps:
        t.stop()


def actor(user, role="staff", department="sales"):
    return {"id": user, "roles": [role], "department": department}


@contextlib.contextmanager
def nothing():
    yield


@pytest.fixture(scope="module")
def module_services(config):
    """Start services once for a whole test module: module_services(Cls, ...)."""
    containers = []

    def start(*classes, **overrides):
        for cls in classes:
            container = ServiceContainer(cls, dict(config, **overrides))
            container.start()
            containers.append(container)

    yield start
    for c in reversed(containers):
        c.stop()


@pytest.fixture(scope="module")
def module_gateway(module_services):
    """Start services and their HTTP gateway once for a module:
    ``base = module_gateway(Gateway, ServiceA, ServiceB)`` → the gateway's base URL."""

    def start(gateway, *services):
        port = free_port()
        module_services(*services)
        module_services(gateway, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
        return f"http://127.0.0.1:{port}"

    return start


@contextlib.contextmanager
def offline_database(config, service, base):
    """A service's ``Database`` provider set up in the test process exactly as its
    container would (engine, sessions, lock, relay) but never started: the
    running service's own relay sends what is written through it."""
    from types import SimpleNamespace

    from services.common.uow import Database

    db = Database(base)
    db.container = SimpleNamespace(service_name=service, config=config)
    db.setup()
    try:
        yield db
    finally:
        db.engine.dispose()

