"""The relay's pipelined publisher confirms, against the real broker: a batch is
published without waiting between messages, and only the leading run of rows the
broker acked and routed is marked sent. A return (unroutable) or a nack
(a full queue with ``x-overflow: reject-publish``) ends the run there."""
import uuid

import pytest
from kombu import Connection, Queue
from sqlalchemy import select

from services.common import metrics
from services.common.contract_bus import events_exchange_obj
from services.common.db import GreenLock, make_engine, make_sessionmaker
from services.common.models import declare_base
from services.common.relay import Relay
from services.common.uow import make_envelope


@pytest.fixture
def outbox(tmp_path, amqp_uri):
    Base = declare_base()
    engine = make_engine(f"sqlite:///{tmp_path}/outbox.db")
    Base.metadata.create_all(engine)
    Session = make_sessionmaker(engine)
    service = f"relaytest{uuid.uuid4().hex[:8]}"

    def add(*types):
        ids = []
        with Session() as s, s.begin():
            for t in types:
                env = make_envelope(service, t, {"n": len(ids)})
                s.add(Base.Outbox(event_id=env["event_id"], event_type=t, envelope=env))
                ids.append(env["event_id"])
        return ids

    def unsent():
        with Session() as s:
            return s.scalars(select(Base.Outbox.event_id).where(Base.Outbox.sent_at.is_(None))
                             .order_by(Base.Outbox.id)).all()

    def relay():
        return Relay(service, Base.Outbox, Session, GreenLock(True), amqp_uri)

    conn = Connection(amqp_uri)
    exchange = events_exchange_obj(service)(conn.default_channel)
    exchange.declare()
    queues = []

    def bind(routing_key, **arguments):
        q = Queue(f"{service}-{routing_key}", exchange=exchange, routing_key=routing_key,
                  durable=False, auto_delete=False, queue_arguments=arguments or None)
        q(conn.default_channel).declare()
        queues.append(q(conn.default_channel))
        return queues[-1]

    def received(queue):
        got = []
        while (m := queue.get(no_ack=True)) is not None:
            got.append(m.payload["event_id"])
        return got

    yield type("Outbox", (), {"add": staticmethod(add), "unsent": staticmethod(unsent),
                              "relay": staticmethod(relay), "bind": staticmethod(bind),
                              "received": staticmethod(received), "service": service})
    for q in queues:
        q.delete()
    exchange.delete()
    conn.release()
    engine.dispose()


def _unroutable(service):
    return metrics.OUTBOX_UNROUTABLE.labels(service)._value.get()


def test_a_batch_is_marked_in_order_up_to_the_first_unroutable_event(outbox):
    q = outbox.bind("ok_event")
    ids = outbox.add("ok_event", "ok_event", "ok_event", "nobody_listens", "ok_event")
    relay = outbox.relay()
    try:
        assert relay.drain() == 3
        assert outbox.unsent() == ids[3:]
        assert _unroutable(outbox.service) == 1
        first = outbox.received(q)
        assert first == ids[:3] + ids[4:]  # pipelined: the one after was sent, not marked
        outbox.bind("nobody_listens")  # the fix: someone listens now
        assert relay.drain() == 2
        assert outbox.unsent() == []
        assert outbox.received(q) == ids[4:]  # sent again: consumers' inboxes absorb it
        assert _unroutable(outbox.service) == 1
    finally:
        relay.stop()


def test_a_nacked_event_stays_unsent_until_the_broker_takes_it(outbox):
    q = outbox.bind("ok_event", **{"x-max-length": 2, "x-overflow": "reject-publish"})
    ids = outbox.add(*["ok_event"] * 5)
    relay = outbox.relay()
    try:
        assert relay.drain() == 2  # the third is nacked: the queue is full
        assert outbox.unsent() == ids[2:]
        assert outbox.received(q) == ids[:2]  # the rest was refused, not queued
        assert relay.drain() == 2
        assert outbox.received(q) == ids[2:4]
        assert relay.drain() == 1 and outbox.unsent() == []
        assert outbox.received(q) == ids[4:]
    finally:
        relay.stop()


def test_many_rows_are_confirmed_in_one_pass(outbox):
    q = outbox.bind("ok_event")
    ids = outbox.add(*["ok_event"] * 450)  # three batches of the default 200
    relay = outbox.relay()
    try:
        assert relay.drain() == 450
        assert outbox.unsent() == []
        assert outbox.received(q) == ids
        assert relay._confirms == {}  # nothing left waiting for a confirm
    finally:
        relay.stop()
