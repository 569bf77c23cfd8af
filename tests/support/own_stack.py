"""A vhost and databases of a test's own (``own_stack`` fixture), for tests that must
not share the session's bus with other services: the worker's other modules may leave
a ``customers`` or ``reporting`` of theirs consuming the session vhost's RPC queues and
events (in CI the audit-checkpoint tests were answered by the session's reporting, seq
1407 for their 4), so a test that checks one service's chain end to end runs its
services, its RPC calls and its `crm` processes on a vhost no one else uses."""
import pytest

from services.common.bus import setup_bus
from services.common.migrate import upgrade
from tests.support.infra import PgDatabases, Vhost


@pytest.fixture
def own_stack(config, tmp_path):
    """own_stack(*services) -> config for those services on a fresh vhost and fresh,
    migrated databases (the session's for the others); all dropped after the test."""
    made = []

    def make(*services):
        vhost = Vhost()
        uri = vhost.create()
        made.append(vhost)
        if config["DB_URIS"]["customers"].startswith("sqlite"):
            urls = {s: f"sqlite:///{tmp_path}/{s}.db" for s in services}
        else:
            dbs = PgDatabases(services)
            made.append(dbs)
            urls = dbs.create()
        for url_service, url in urls.items():
            upgrade(url_service, url)
        cfg = dict(config, AMQP_URI=uri, DB_URIS=dict(config["DB_URIS"], **urls))
        from services.contract import bus_settings
        setup_bus(uri, *bus_settings(cfg))
        return cfg

    yield make
    for thing in reversed(made):
        thing.drop()
