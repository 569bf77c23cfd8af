"""Events: exactly once per write, nothing on rollback, relay resumes, inbox dedupes,
poison to the DLQ while others keep flowing."""
import json
import time
import uuid
from decimal import Decimal

import eventlet
import pytest
from kombu import Connection, Producer
from sqlalchemy import create_engine, func, select

from services.common.bus import dlq_depths
from services.common.contract_bus import events_exchange_obj
from services.common.errors import Conflict, ValidationError
from services.common.uow import make_envelope
from services.contract import EVENTS, NOT_REPORTED
from services.customers.models import Base, Customer, OrderLedger
from services.customers.service import CustomersService
from tests.support import data
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration
U = actor("ev-u1")
# the customers' own events (not audit_checkpoint, which any write may also publish)
BUSINESS = [t for t in EVENTS["customers"] if t not in NOT_REPORTED]


@pytest.fixture(scope="module", autouse=True)
def _service(module_services):
    module_services(CustomersService)


def _engine(config):
    from services.common.db import with_driver
    return create_engine(with_driver(config["DB_URIS"]["customers"]))


def test_each_write_publishes_its_events_exactly_once(rpc, event_tap):
    tap = event_tap("customers", *BUSINESS)
    with rpc(U) as p:
        c = p.customers.create_customer(data.customer())
        p.customers.update_customer(c["id"], {"needs": "节能改造"})
        p.customers.add_tags(c["id"], ["复购"])
        p.customers.mark_lost(c["id"], "price", "价格")
        p.customers.reactivate(c["id"])
    with rpc(actor("ev-m", "manager")) as p:
        p.customers.set_owner(c["id"], "ev-u2")
    tap.wait_for(6)
    mine = [e for e in tap.settle(1.0) if e["data"]["customer_id"] == c["id"]]
    assert [e["type"] for e in mine] == ["customer_created", "customer_updated",
                                         "customer_updated", "customer_lost",
                                         "customer_reactivated", "customer_owner_changed"]
    assert len({e["event_id"] for e in mine}) == 6
    assert mine[1]["data"]["changed_fields"] == ["needs"]
    assert mine[5]["data"]["previous_owner_id"] == "ev-u1" and mine[0]["actor_id"] == "ev-u1"


def test_rejected_writes_publish_nothing(rpc, event_tap, config):
    tap = event_tap("customers", *BUSINESS)
    d = data.customer()
    with rpc(U) as p:
        p.customers.create_customer(d)
        tap.wait_for(1)
        with pytest.raises(Conflict):
            p.customers.create_customer(dict(data.customer(), uscc=d["uscc"]))
        with pytest.raises(ValidationError):
            p.customers.create_customer(dict(data.customer(), needs=123))
    assert len(tap.settle(1.0)) == 1
    with _engine(config).connect() as conn:
        n = conn.execute(select(func.count()).select_from(Customer).where(
            Customer.uscc == d["uscc"])).scalar()
    assert n == 1


@pytest.fixture
def private_dbs():
    made = []
    yield made
    for d in made:
        d.drop()


def _private_db(config, tmp_path):
    if config["DB_URIS"]["customers"].startswith("sqlite"):
        return f"sqlite:///{tmp_path}/relay.db", None
    from tests.support.infra import PgDatabases
    dbs = PgDatabases(["relay"])
    return dbs.create()["relay"], dbs


def test_relay_crash_mid_batch_resumes_without_loss(config, event_tap, tmp_path, private_dbs):
    """Rows committed to the outbox; the relay dies after 3 publishes; a new relay
    publishes the rest: every event arrives, none twice."""
    from services.common.db import GreenLock, make_engine, make_sessionmaker
    from services.common.relay import Relay

    # its own database: the running service's relay must not take part
    url, dbs = _private_db(config, tmp_path)
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    Session = make_sessionmaker(engine)
    ids = []
    with Session() as s, s.begin():
        for _ in range(10):
            env = make_envelope("customers", "customer_updated", {
                "customer_id": 999999, "name": "relay test", "owner_id": "x", "type": "potential",
                "tier": "normal", "industry_code": "C35", "region": None, "filled_fields": [],
                "changed_fields": ["needs"]})
            s.add(Base.Outbox(event_id=env["event_id"], event_type=env["type"], envelope=env))
            ids.append(env["event_id"])
    tap = event_tap("customers", "customer_updated")

    class Crashing(Relay):
        sent = 0

        def publish(self, envelope):
            if self.sent == 3:
                raise ConnectionError("relay killed mid-batch")
            self.sent += 1
            return super().publish(envelope)

    lock = GreenLock(True)
    if dbs:
        private_dbs.append(dbs)
    postgres = dbs is not None
    with pytest.raises(ConnectionError):
        Crashing("customers", Base.Outbox, Session, lock, config["AMQP_URI"], postgres).drain()
    Relay("customers", Base.Outbox, Session, lock, config["AMQP_URI"], postgres).drain()
    got = [e["event_id"] for e in tap.wait_for(10, timeout=15) if e["event_id"] in ids]
    tap.settle(1.0)
    got = [e["event_id"] for e in tap.events if e["event_id"] in ids]
    assert sorted(got) == sorted(ids)  # none lost, none twice
    assert got[:10] == [i for i in ids if i in got][:10]  # in commit order
    with Session() as s:
        assert s.scalar(select(func.count()).select_from(Base.Outbox).where(
            Base.Outbox.event_id.in_(ids), Base.Outbox.sent_at.is_(None))) == 0
    engine.dispose()


def _publish(config, envelope, raw=None):
    with Connection(config["AMQP_URI"]) as conn:
        extra = {"content_type": "application/json"} if raw is not None else {
            "serializer": "json"}
        Producer(conn.channel()).publish(
            raw if raw is not None else envelope, exchange=events_exchange_obj("sales"),
            routing_key=envelope["type"], delivery_mode=2, **extra)


def _order(customer_id, amount, event_type="order_placed", order_id=None):
    return make_envelope("sales", event_type, {
        "order_id": order_id or f"o-{uuid.uuid4().hex[:8]}", "customer_id": customer_id,
        "owner_id": "ev-u1", "amount": amount})


def _wait(predicate, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        eventlet.sleep(0.1)
    return False


def test_same_event_twice_is_applied_once_and_tiers_move(rpc, config, event_tap):
    tap = event_tap("customers", "customer_tier_changed", "customer_updated")
    with rpc(U) as p:
        c = p.customers.create_customer(data.customer())
    env = _order(c["id"], "600000.00")
    _publish(config, env)
    _publish(config, env)
    engine = _engine(config)

    def ledger():
        with engine.connect() as conn:
            return conn.execute(select(OrderLedger.amount).where(
                OrderLedger.customer_id == c["id"])).scalars().all()
    assert _wait(lambda: len(ledger()) == 1)
    second = _order(c["id"], "500000.00")
    _publish(config, second)
    with rpc(U) as p:
        assert _wait(lambda: p.customers.get_customer(c["id"])["tier"] == "strategic")
        got = p.customers.get_customer(c["id"])
    assert got["type"] == "closed"  # a potential customer that orders becomes closed
    assert sum(ledger()) == Decimal("1100000.00")
    tiers = [e for e in tap.settle(1.0) if e["type"] == "customer_tier_changed"
             and e["data"]["customer_id"] == c["id"]]
    assert [(e["data"]["previous_tier"], e["data"]["tier"]) for e in tiers] == [
        ("normal", "key"), ("key", "strategic")]
    cancel = _order(c["id"], "0", "order_cancelled", second["data"]["order_id"])
    cancel["data"]["reason"] = "客户取消"
    _publish(config, cancel)
    with rpc(U) as p:
        assert _wait(lambda: p.customers.get_customer(c["id"])["tier"] == "key")


def test_poison_event_is_dead_lettered_and_others_flow(rpc, config):
    queue = "evt-sales-order_placed--customers.on_order_event"
    from services.contract import bus_settings

    def depth():
        return dict(dlq_depths(config["AMQP_URI"], bus_settings(config)[1]))[queue + ".dlq"]
    before = depth()
    with rpc(U) as p:
        c = p.customers.create_customer(data.customer())
    _publish(config, _order("not-a-number", "1.00"))           # handler raises every time
    bad_envelope = _order(c["id"], "1.00")
    _publish(config, bad_envelope, raw=json.dumps({"type": "order_placed"}))  # not an envelope
    good = _order(c["id"], "250000.00")
    _publish(config, good)
    with rpc(U) as p:
        assert _wait(lambda: p.customers.get_customer(c["id"])["tier"] == "key")
    assert _wait(lambda: depth() == before + 2, timeout=20)
