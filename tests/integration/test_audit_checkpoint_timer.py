"""The tail of an audit chain written just before a quiet period is anchored too: the
``publish_audit_checkpoint`` timer (services/common/service.py) publishes the signed
current head once it has moved past the last checkpoint and none went out for
``AUDIT_CHECKPOINT_SECONDS``, through the outbox, and reporting keeps it; a head that
has not moved is never published again (nor after a restart). The customers service and
reporting on the real broker, on a vhost and databases of their own
(tests.support.own_stack: in CI the session's reporting answered otherwise)."""
import time

import eventlet
import pytest
from sqlalchemy import create_engine, select

from services.common.cli.rpc_client import cluster
from services.common.db import with_driver
from services.customers.models import Base as CustomersBase
from services.customers.service import CustomersService
from services.reporting.models import AuditCheckpoint
from services.reporting.service import ReportingService
from tests.support import data
from tests.support.fixtures import actor
from tests.support.own_stack import own_stack  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration
WINDOW = 3  # AUDIT_CHECKPOINT_SECONDS here
MARGIN = 4  # the timer's tick (1 s), the relay, reporting's consumer, a loaded box
OWN = ("customers", "reporting")


@pytest.fixture
def own(own_stack):  # noqa: F811
    """customers and reporting on a vhost and databases of their own → (config, engines)."""
    cfg = dict(own_stack(*OWN), AUDIT_CHECKPOINT_SECONDS=WINDOW)
    engines = {s: create_engine(with_driver(cfg["DB_URIS"][s])) for s in OWN}
    yield cfg, engines
    for e in engines.values():
        e.dispose()


def _head(engine):
    h = CustomersBase.AuditHead.__table__
    with engine.connect() as conn:
        row = conn.execute(select(h.c.seq, h.c.hash).where(h.c.id == 1)).first()
    return (row.seq, row.hash) if row else (0, None)


def _published(engine):
    """The seqs of the audit_checkpoint events in customers' outbox, oldest first."""
    t = CustomersBase.Outbox.__table__
    with engine.connect() as conn:
        return [r.envelope["data"]["seq"] for r in conn.execute(
            select(t.c.envelope).where(t.c.event_type == "audit_checkpoint").order_by(t.c.id))]


def _kept(engine):
    """The seqs of customers' checkpoints reporting keeps, in the order it kept them."""
    t = AuditCheckpoint.__table__
    with engine.connect() as conn:
        return [r.seq for r in conn.execute(
            select(t.c.seq).where(t.c.service == "customers").order_by(t.c.id))]


def test_a_quiet_tail_is_anchored_within_the_window_and_only_once(own, start_service):
    cfg, engines = own

    def rpc(who=None):
        return cluster(cfg, who, 15)
    start_service(ReportingService, **cfg)
    customers = start_service(CustomersService, **cfg)
    with rpc(actor("cp-u1")) as p:
        began = time.monotonic()
        c = p.customers.create_customer(data.customer())  # publishes its head: clock starts
        p.customers.update_customer(c["id"], {"needs": "节能改造"})  # within the window
        written = time.monotonic()
    head = _head(engines["customers"])
    published = _published(engines["customers"])
    # the writes alone leave the update's entries unanchored
    assert written - began < WINDOW, "the two writes took longer than the window"
    assert head[0] > max(published), (head, published)

    # then nobody writes: within the window (+ margin) reporting holds the head
    deadline = written + WINDOW + MARGIN
    with rpc() as p:
        cp = p.reporting.latest_audit_checkpoint("customers")
        while (cp is None or cp["seq"] != head[0]) and time.monotonic() < deadline:
            eventlet.sleep(0.2)
            cp = p.reporting.latest_audit_checkpoint("customers")
        anchored = time.monotonic() - written
        print(f"\nquiet tail anchored {anchored:.1f} s after the last write "
              f"(AUDIT_CHECKPOINT_SECONDS={WINDOW})")
        assert cp is not None and (cp["seq"], cp["hash"]) == head, (cp, head, anchored)
        assert p.customers.verify_audit(checkpoint=cp)["valid"]
    assert _published(engines["customers"]) == published + [head[0]]

    # no writes: nothing more is published, for two more windows
    eventlet.sleep(2 * WINDOW + 1)
    assert _head(engines["customers"]) == head  # nothing wrote meanwhile
    assert _published(engines["customers"]) == published + [head[0]]
    assert _kept(engines["reporting"]) == published + [head[0]]

    # nor after a restart (the newest checkpoint in the outbox is the head's)
    customers.stop()
    start_service(CustomersService, **cfg)
    eventlet.sleep(WINDOW + 2)
    assert _published(engines["customers"]) == published + [head[0]]

    # a later write and another quiet period: anchored again, once
    with rpc(actor("cp-u1")) as p:
        p.customers.update_customer(c["id"], {"needs": "余热回收"})
        written = time.monotonic()
    head2 = _head(engines["customers"])
    assert head2[0] > head[0]
    deadline = written + WINDOW + MARGIN
    while _kept(engines["reporting"])[-1:] != [head2[0]] and time.monotonic() < deadline:
        eventlet.sleep(0.2)
    assert _kept(engines["reporting"])[-1] == head2[0]
    eventlet.sleep(WINDOW + 1)
    assert _published(engines["customers"]).count(head2[0]) == 1
