"""Regression (found by scenario 8 at scale 1): on SIGTERM the relay's
connection was closed under a batch in progress and the thread killed, so a
row the broker had confirmed could stay unmarked and be published again after
the restart. ``Relay.stop()`` lets the batch in hand finish and mark its rows."""
import eventlet
from sqlalchemy import select

from services.common.db import GreenLock, make_engine, make_sessionmaker
from services.common.models import declare_base
from services.common.relay import Relay
from services.common.uow import make_envelope


def test_stop_lets_the_batch_in_hand_finish_and_mark_its_rows(tmp_path):
    Base = declare_base()
    engine = make_engine(f"sqlite:///{tmp_path}/outbox.db")
    Base.metadata.create_all(engine)
    Session = make_sessionmaker(engine)
    with Session() as s, s.begin():
        for i in range(6):
            env = make_envelope("customers", "customer_created", {"customer_id": i})
            s.add(Base.Outbox(event_id=env["event_id"], event_type=env["type"], envelope=env))
    relay = Relay("customers", Base.Outbox, Session, GreenLock(True), "amqp://unused",
                  batch_size=3)
    published = []

    def slow_publish(envelope):  # a publish takes a while; returns its delivery tag
        eventlet.sleep(0.05)
        published.append(envelope["event_id"])
        return len(published)

    relay.publish = slow_publish
    relay.wait_confirms = lambda tags: {tag: True for tag in tags}  # the broker acks all
    relay._update_gauges = lambda: None
    runner = eventlet.spawn(relay.run)
    eventlet.sleep(0.08)  # in the middle of the first batch
    assert 0 < len(published) < 3
    relay.stop()
    assert runner.dead
    with Session() as s:
        sent = set(s.scalars(select(Base.Outbox.event_id).where(Base.Outbox.sent_at.isnot(None))))
        unsent = s.scalars(select(Base.Outbox.id).where(Base.Outbox.sent_at.is_(None))).all()
    assert sent == set(published) and len(published) == 3  # the batch finished, all marked
    assert len(unsent) == 3  # the next batch waits for the restart, never half-done
    engine.dispose()
