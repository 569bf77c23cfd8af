"""reporting's group commit on the real bus and database: a backlog is applied
several events per transaction with the same KPIs as one event per transaction,
redeliveries are counted once each, and an event that cannot be applied fails
alone (retried, dead-lettered) while the rest of its batch is applied."""
import random
import time
import uuid

import pytest
from kombu import Connection
from prometheus_client import REGISTRY
from sqlalchemy import delete, insert, select

from services.common.contract_bus import dlq_obj
from services.common.db import make_engine
from services.common.models import utcnow
from services.contract import queue_name
from services.reporting import domain
from services.reporting.batching import GroupCommitProvider
from services.reporting.models import Base, EventLog
from services.reporting.service import HANDLER, ReportingService
from tests.integration.test_reporting_events import (
    MANAGER,
    actual_kpis,
    assert_same,
    expected_kpis,
    now,
    publish,
    unique_story,
    wait_for,
)

pytestmark = pytest.mark.integration


def _group(container):
    return next(d for d in container.extensions
                if isinstance(d, GroupCommitProvider)).group


def _metric(name, **labels):
    return REGISTRY.get_sample_value(name, dict({"service": "reporting"}, **labels)) or 0


def _inbox_counts(config, event_ids):
    engine = make_engine(config["DB_URIS"]["reporting"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Base.Inbox.event_id).where(
                Base.Inbox.handler == HANDLER, Base.Inbox.event_id.in_(event_ids))).all()
    finally:
        engine.dispose()
    counts = {}
    for (eid,) in rows:
        counts[eid] = counts.get(eid, 0) + 1
    return counts


def test_backlog_applied_in_batches_with_redeliveries(config, start_service, rpc):
    year, tag, story = unique_story()
    expected = expected_kpis(story, year, tag, now())
    shuffled = list(story)
    random.Random(3).shuffle(shuffled)
    repeats = shuffled[:12]
    dup_before = _metric("crm_events_duplicate_total", handler=HANDLER)
    publish(config, shuffled + repeats)  # waiting in the queues: batches form at start
    container = start_service(ReportingService)
    with rpc(MANAGER) as proxy:
        assert_same(wait_for(proxy, expected, year, tag), expected)
        deadline = time.time() + 20
        while (_metric("crm_events_duplicate_total", handler=HANDLER) - dup_before
               < len(repeats) and time.time() < deadline):
            time.sleep(0.2)
        assert actual_kpis(proxy, year, tag) == expected
    group = _group(container)
    assert group.events >= len(story) and group.batches < group.events  # batched
    assert _metric("crm_events_duplicate_total", handler=HANDLER) - dup_before >= len(repeats)
    counts = _inbox_counts(config, [e["event_id"] for e in story])
    assert counts == {e["event_id"]: 1 for e in story}


def test_event_that_cannot_apply_fails_alone(config, start_service, rpc):
    year, tag, story = unique_story()
    expected = expected_kpis(story, year, tag, now())
    bad = next(e for e in story if e["type"] == "order_placed")
    bad = dict(bad, event_id=str(uuid.uuid4()), data=dict(bad["data"],
                                                         order_id=f"{tag}-broken"))
    kind, entity_id = domain.entity_of(bad)
    # a corrupt row of the bad event's entity in the event log: its fold cannot read it
    engine = make_engine(config["DB_URIS"]["reporting"])
    corrupt = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(insert(EventLog).values(
            event_id=corrupt, source="sales", type="order_placed", occurred_at=utcnow(),
            envelope={}, entity_kind=kind, entity_id=entity_id, applied_at=utcnow(),
            lag_seconds=0.0))
    dead_before = _metric("crm_events_dead_lettered_total", handler=HANDLER)
    events = list(story)
    events.insert(len(events) // 2, bad)
    publish(config, events)
    try:
        container = start_service(ReportingService)
        with rpc(MANAGER) as proxy:
            assert_same(wait_for(proxy, expected, year, tag), expected)
        deadline = time.time() + 30
        while (_metric("crm_events_dead_lettered_total", handler=HANDLER) == dead_before
               and time.time() < deadline):
            time.sleep(0.2)
        assert _metric("crm_events_dead_lettered_total", handler=HANDLER) > dead_before
        assert _group(container).fallbacks >= 1
        counts = _inbox_counts(config, [e["event_id"] for e in events])
        assert counts == {e["event_id"]: 1 for e in story}  # the bad one: not applied
    finally:
        with engine.begin() as conn:
            conn.execute(delete(EventLog).where(EventLog.event_id == corrupt))
        engine.dispose()
        with Connection(config["AMQP_URI"]) as conn:
            q = queue_name("sales", "order_placed", "reporting", "apply_event")
            dlq_obj(q)(conn.channel()).purge()
