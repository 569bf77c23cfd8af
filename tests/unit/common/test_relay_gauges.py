"""The relay's backlog gauges: exact after a pass that empties the outbox (no COUNT
query), recounted at most every GAUGE_INTERVAL while rows stay behind."""
from prometheus_client import REGISTRY

from services.common import relay as relay_mod
from services.common.db import GreenLock, make_engine, make_sessionmaker
from services.common.models import declare_base
from services.common.relay import Relay
from services.common.uow import make_envelope


def _setup(tmp_path, rows):
    Base = declare_base()
    engine = make_engine(f"sqlite:///{tmp_path}/outbox.db")
    Base.metadata.create_all(engine)
    Session = make_sessionmaker(engine)
    with Session() as s, s.begin():
        for i in range(rows):
            env = make_envelope("customers", "customer_created", {"customer_id": i})
            s.add(Base.Outbox(event_id=env["event_id"], event_type=env["type"], envelope=env))
    relay = Relay("gauge-test", Base.Outbox, Session, GreenLock(True), "amqp://unused",
                  batch_size=3)
    tags = iter(range(1, 10_000))
    relay.publish = lambda envelope: next(tags)
    return engine, relay


def _backlog():
    return REGISTRY.get_sample_value("crm_outbox_backlog", {"service": "gauge-test"})


def test_an_emptied_outbox_sets_the_gauges_without_counting(tmp_path):
    engine, relay = _setup(tmp_path, 7)
    relay.wait_confirms = lambda tags: {t: True for t in tags}
    counted = []
    original = relay._update_gauges
    relay._update_gauges = lambda: counted.append(1) or original()
    assert relay.drain() == 7
    assert _backlog() == 0
    assert counted == []  # the last batch read every pending row (1) and sent it: 0 is known
    engine.dispose()


def test_rows_left_behind_are_counted_at_most_every_interval(tmp_path, monkeypatch):
    engine, relay = _setup(tmp_path, 5)
    relay.wait_confirms = lambda tags: {t: False for t in tags}  # the broker nacks all
    counted = []
    original = relay._update_gauges
    relay._update_gauges = lambda: counted.append(1) or original()
    relay.drain()
    assert _backlog() == 5 and len(counted) == 1
    relay.drain()
    assert len(counted) == 1  # within GAUGE_INTERVAL: not recounted
    monkeypatch.setattr(relay_mod, "GAUGE_INTERVAL", 0.0)
    relay.drain()
    assert len(counted) == 2 and _backlog() == 5
    engine.dispose()
