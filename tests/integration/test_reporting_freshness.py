"""Freshness after back-dated events (``make demo`` writes history months in the past):
an event whose occurred_at is 120 days old, sent by the kit's relay and left 2 s in
reporting's queue, is applied with a lag of seconds — measured from the relay's
publish time (the ``nameko.crm_published_at`` header: the queue time counts), not
from occurred_at."""
import datetime as dt
import time
import uuid

import pytest
from kombu import Connection, Queue
from sqlalchemy import text

from services.common.contract_bus import events_exchange_obj
from services.common.db import GreenLock, make_engine, make_sessionmaker
from services.common.models import declare_base
from services.common.relay import Relay
from services.reporting.service import ReportingService
from tests.unit.reporting.harness import lead

pytestmark = pytest.mark.integration
DAYS = 120


def test_back_dated_event_is_fresh_when_the_relay_sent_it_now(config, start_service,
                                                               tmp_path):
    Base = declare_base()
    engine = make_engine(f"sqlite:///{tmp_path}/sales-outbox.db")
    Base.metadata.create_all(engine)
    Session = make_sessionmaker(engine)
    occurred = dt.datetime.now(dt.UTC) - dt.timedelta(days=DAYS)
    env = lead("lead_created", occurred.isoformat(), int(uuid.uuid4().int % 10 ** 9),
               owner=f"fresh-{uuid.uuid4().hex[:6]}", source="website")
    with Session() as s, s.begin():
        s.add(Base.Outbox(event_id=env["event_id"], event_type="lead_created", envelope=env))
    conn = Connection(config["AMQP_URI"])
    spy = Queue(f"freshness-spy-{uuid.uuid4().hex[:8]}",
                exchange=events_exchange_obj("sales")(conn.default_channel),
                routing_key="lead_created", durable=False, auto_delete=True)
    spy = spy(conn.default_channel)
    spy.declare()
    relay = Relay("sales", Base.Outbox, Session, GreenLock(True), config["AMQP_URI"])
    try:
        before = dt.datetime.now(dt.UTC)
        assert relay.drain() == 1
    finally:
        relay.stop()
    message = spy.get(no_ack=True)
    stamp = dt.datetime.fromisoformat(message.headers["nameko.crm_published_at"])
    assert before <= stamp <= dt.datetime.now(dt.UTC)
    spy.delete()
    conn.release()
    time.sleep(2)  # the event waits in reporting's queue (declared by the bus setup)
    start_service(ReportingService)

    reporting = make_engine(config["DB_URIS"]["reporting"])  # psycopg2 on PostgreSQL
    row = None
    deadline = time.monotonic() + 30
    while row is None and time.monotonic() < deadline:
        with reporting.connect() as c:
            row = c.execute(text("SELECT lag_seconds, occurred_at FROM event_log "
                                 "WHERE event_id = :id"), {"id": str(env["event_id"])}).first()
        time.sleep(0.2)
    assert row is not None, "reporting did not apply the event"
    lag, logged_occurred = row
    # from the relay's publish: the 2 s in the queue count (a receive-time origin would
    # say ~0); from occurred_at it would be 120 days = 10 368 000 s
    assert 2 <= lag < 30, lag
    assert str(logged_occurred).startswith(occurred.strftime("%Y-%m-%d"))  # history kept
    reporting.dispose()
    engine.dispose()
