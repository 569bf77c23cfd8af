"""reporting on the real bus and database: every event of the contract consumed from
its durable queue, duplicates applied once, delivery order irrelevant, rebuild
identical, events published before reporting starts applied when it starts."""
import copy
import datetime as dt
import json
import random
import time
import uuid

import pytest
from kombu import Connection, Producer
from prometheus_client import REGISTRY

from services.common.contract_bus import events_exchange_obj
from services.common.errors import Forbidden, ValidationError
from services.reporting.service import ReportingService
from tests.support.fixtures import actor
from tests.unit.reporting import test_kpis
from tests.unit.reporting.harness import Harness

pytestmark = pytest.mark.integration
MANAGER = actor("boss", "manager", "management")
ID_KEYS = ("lead_id", "opportunity_id", "order_id", "payment_id", "follow_up_id", "ticket_id",
           "survey_id", "task_id", "campaign_id", "participant_id")
OWNER_KEYS = ("owner_id", "assignee_id", "visitor_id", "previous_owner_id")
_years = iter(random.Random().sample(range(2100, 2900), 50))


def unique_story():
    """The unit tests' full story moved to an unused year with unique ids and owners."""
    year, tag = next(_years), uuid.uuid4().hex[:6]
    base = random.randint(10 ** 8, 10 ** 9)
    out = []
    for e in test_kpis.story():
        text = json.dumps(e).replace('"2026-', f'"{year}-').replace('"2027-', f'"{year + 1}-')
        e = json.loads(text)
        e["event_id"] = str(uuid.uuid4())
        d = e["data"]
        for k in ID_KEYS:
            if d.get(k) is not None:
                d[k] = f"{tag}-{d[k]}"
        if d.get("customer_id") is not None:
            d["customer_id"] = base + int(d["customer_id"])
        for k in OWNER_KEYS:
            if d.get(k):
                d[k] = f"{tag}-{d[k]}"
        out.append(e)
    return year, tag, out


def publish(config, envelopes):
    with Connection(config["AMQP_URI"]) as conn:
        producer = Producer(conn.channel())
        for e in envelopes:
            producer.publish(e, exchange=events_exchange_obj(e["source"]), routing_key=e["type"],
                             serializer="json", delivery_mode=2, retry=True)


def periods(year):
    return [f"{year}-10", f"{year}-11", f"{year}-12", f"{year}-Q4", str(year)]


def scopes(tag):
    return [None, {"owner_id": f"{tag}-u1"}, {"owner_id": f"{tag}-u2"},
            {"owner_id": f"{tag}-s1"}, {"owner_id": f"{tag}-m1"}]


# Customers closed years ago by other tests of the session are still customers:
# company-wide state KPIs are compared through the (unique) owners only.
CUMULATIVE = ("customer_info_completeness", "retention_rate", "churn_rate")


def _strip(kpis, scope):
    return {k: v for k, v in kpis.items() if scope or k not in CUMULATIVE}


def expected_kpis(envelopes, year, tag, now):
    h = Harness()
    h.apply(*copy.deepcopy(envelopes))
    return {(p, str(s)): _strip(h.kpis(p, s, now=now), s) for p in periods(year)
            for s in scopes(tag)}


def actual_kpis(proxy, year, tag):
    return {(p, str(s)): _strip(proxy.reporting.get_kpis(p, s), s) for p in periods(year)
            for s in scopes(tag)}


def wait_for(proxy, expected, year, tag, timeout=30):
    deadline = time.time() + timeout
    while True:
        got = actual_kpis(proxy, year, tag)
        if got == expected or time.time() > deadline:
            return got
        time.sleep(0.3)


def assert_same(got, expected):
    diff = {key: {k: (v, expected[key][k]) for k, v in got[key].items()
                  if v != expected[key][k]} for key in expected if got[key] != expected[key]}
    assert not diff, diff


def now():
    return dt.datetime.now(dt.UTC)


def test_published_before_start_shuffled_and_duplicated(config, start_service, rpc):
    year, tag, story = unique_story()
    expected = expected_kpis(story, year, tag, now())
    shuffled = list(story)
    random.Random(7).shuffle(shuffled)
    publish(config, shuffled + shuffled[:10])  # reporting not running yet; 10 duplicates
    lag_before = REGISTRY.get_sample_value("crm_event_lag_seconds_count",
                                           {"service": "reporting"}) or 0
    start_service(ReportingService)
    with rpc(MANAGER) as proxy:
        got = wait_for(proxy, expected, year, tag)
        assert_same(got, expected)
        assert got[(f"{year}-11", "None")]["sales_amount"] == "3099.99"
        time.sleep(0.5)  # the duplicates are consumed too, and change nothing
        assert actual_kpis(proxy, year, tag) == expected
        fresh = proxy.reporting.freshness()
        assert fresh["events_applied"] >= len(story)
    lag_after = REGISTRY.get_sample_value("crm_event_lag_seconds_count", {"service": "reporting"})
    # every story event observed once (its duplicates are skipped before the lag is
    # observed); other modules' events waiting in the shared queues may add to it
    assert lag_after - lag_before >= len(story)


def test_two_delivery_orders_same_kpis_and_rebuild(config, start_service, rpc):
    start_service(ReportingService)
    year, tag, story = unique_story()
    expected = expected_kpis(story, year, tag, now())
    reverse = list(reversed(story))
    publish(config, reverse)
    with rpc(MANAGER) as proxy:
        assert_same(wait_for(proxy, expected, year, tag), expected)
    with rpc() as system:  # admins and system callers may rebuild
        counts = system.reporting.rebuild()
    assert counts["events"] >= len(story)
    with rpc(MANAGER) as proxy:
        assert_same(actual_kpis(proxy, year, tag), expected)
        report = proxy.reporting.campaign_report(f"{tag}-7")
        assert report["roi"] == 2.0 and report["won_amount"] == "3000.00"


def test_access_and_validation(start_service, rpc):
    start_service(ReportingService)
    with rpc(actor("u1", "staff", "sales")) as proxy:
        with pytest.raises(Forbidden):
            proxy.reporting.get_kpis("2026-11")
        with pytest.raises(Forbidden):
            proxy.reporting.churn_watchlist()
    with rpc(MANAGER) as proxy:
        for period, scope, field in (("2026-13", None, "period"), ("2026", {"x": 1}, "scope"),
                                     ("2026", {"owner_id": "a", "department": "sales"},
                                      "scope"),
                                     ("2026", {"department": "finance"}, "scope")):
            with pytest.raises(ValidationError) as err:
                proxy.reporting.get_kpis(period, scope)
            assert field in err.value.fields, err.value.fields
        with pytest.raises(Forbidden):
            proxy.reporting.rebuild()  # managers may not, admins and system may
        targets = proxy.reporting.set_scorecard_targets(
            [{"role": "service", "kpi": "csat_average", "target": "4.8", "weight": "1"}])
        assert targets["service"]["csat_average"]["target"].startswith("4.8")
        with pytest.raises(ValidationError) as err:
            proxy.reporting.set_scorecard_targets(
                [{"role": "service", "kpi": "sales_amount", "target": "0", "weight": "1"}])
        assert "targets" in err.value.fields


def test_real_outbox_of_customers_reaches_kpis(start_service, rpc):
    from services.common.cli.demo import demo_customers
    from services.customers.service import CustomersService
    start_service(CustomersService)
    start_service(ReportingService)
    owner = f"rc-{uuid.uuid4().hex[:6]}"
    data = next(demo_customers(1, [owner], seed=random.randint(1, 10 ** 6)))
    data["owner_id"] = owner
    with rpc() as proxy:
        proxy.customers.create_customer(data, at="2026-11-30T17:00:00+00:00")
        deadline = time.time() + 15
        while time.time() < deadline:
            if proxy.reporting.get_kpis("2026-12", {"owner_id": owner})["customers_new"]:
                break
            time.sleep(0.2)
        assert proxy.reporting.get_kpis("2026-12", {"owner_id": owner})["customers_new"] == 1
        assert proxy.reporting.get_kpis("2026-11", {"owner_id": owner})["customers_new"] == 0
