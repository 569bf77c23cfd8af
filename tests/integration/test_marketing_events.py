"""marketing consumes sales events (hand-published with kombu, as the sales relay would):
evaluation numbers against a hand-computed scenario, duplicates and any arrival order."""
import datetime as dt
import time
import uuid

import pytest
from sqlalchemy import func, select

from services.common.db import make_engine
from services.customers.service import CustomersService
from services.marketing.models import Base
from services.marketing.service import MarketingService
from tests.integration.test_marketing_support import (
    MK,
    contact,
    customers,
    plan,
    publish_sales,
    running_campaign,
    sales_event,
    tag,
)

pytestmark = pytest.mark.integration
DAY = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)  # after the campaign starts


@pytest.fixture(scope="module", autouse=True)
def _services(module_services):
    module_services(CustomersService, MarketingService)


def _at(minutes):
    return DAY + dt.timedelta(minutes=minutes)


def _wait_for(rpc, campaign_id, expected, timeout=20):
    deadline = time.time() + timeout
    with rpc(MK) as p:
        while True:
            ev = p.marketing.evaluate_campaign(campaign_id)
            got = {k: ev[k] for k in expected}
            if got == expected or time.time() > deadline:
                return ev, got
            time.sleep(0.1)


def _inbox_count(config, event_ids):
    engine = make_engine(config["DB_URIS"]["marketing"], pool_size=1)
    try:
        with engine.connect() as conn:
            inbox = Base.Inbox.__table__
            return conn.execute(select(func.count()).select_from(inbox).where(
                inbox.c.event_id.in_(event_ids))).scalar()
    finally:
        engine.dispose()


def test_evaluation_from_sales_events_duplicates_and_out_of_order(rpc, config):
    u = uuid.uuid4().hex[:8]
    with rpc() as p:
        (c1,) = customers(p, 1)
    with rpc(MK) as p:
        c = running_campaign(p, format="online", cost="40000",
                             audience={"tags_all": [tag()]})
        cid = c["id"]
        p1 = p.marketing.register_participant(cid, {"customer_id": c1})
        p2 = p.marketing.register_participant(cid, {"contact": contact()})
        p3 = p.marketing.register_participant(cid, {"contact": contact()})
        p.marketing.check_in(cid, p1["id"])
        p.marketing.check_in(cid, p3["id"])
        p.marketing.generate_lead(cid, p1["id"])
        p.marketing.generate_lead(cid, p2["id"])
    L1, L2, O1, O2 = f"L1-{u}", f"L2-{u}", f"O1-{u}", f"O2-{u}"
    R1, R2, R3, R4 = (f"R{i}-{u}" for i in range(1, 5))
    new_customer = 10**8 + int(u[:6], 16)
    ev = {
        "lead1": sales_event("lead_created", _at(1), lead_id=L1, source="campaign",
                             campaign_id=cid, participant_id=p1["id"], customer_id=c1),
        "lead2": sales_event("lead_created", _at(2), lead_id=L2, source="campaign",
                             campaign_id=cid, participant_id=p2["id"]),
        "conv1": sales_event("lead_converted", _at(3), lead_id=L1, opportunity_id=O1,
                             customer_id=c1, campaign_id=cid),
        "opp1": sales_event("opportunity_created", _at(4), opportunity_id=O1, customer_id=c1,
                            lead_id=L1, campaign_id=cid, amount="100000.00", stage="qualify"),
        "won1": sales_event("opportunity_won", _at(5), opportunity_id=O1, customer_id=c1,
                            lead_id=L1, campaign_id=cid, amount="100000.00", stage="won"),
        "ord1": sales_event("order_placed", _at(6), order_id=R1, customer_id=c1,
                            opportunity_id=O1, campaign_id=cid, amount="100000.00"),
        "chg1": sales_event("order_changed", _at(7), order_id=R1, customer_id=c1,
                            opportunity_id=O1, campaign_id=cid, amount="90000.00",
                            previous_amount="100000.00"),
        # a later order by the campaign's customer counts (KPIS.md won_amount)
        "ord2": sales_event("order_placed", _at(8), order_id=R2, customer_id=c1,
                            amount="30000.00"),
        "ord3": sales_event("order_placed", _at(9), order_id=R3, customer_id=c1,
                            amount="5000.00"),
        "cxl3": sales_event("order_cancelled", _at(10), order_id=R3, customer_id=c1,
                            reason="客户取消"),
        # lead 2 converts without naming the campaign: known through the lead
        "conv2": sales_event("lead_converted", _at(11), lead_id=L2, opportunity_id=O2,
                             customer_id=new_customer),
        # an unrelated order
        "ord4": sales_event("order_placed", _at(12), order_id=R4, customer_id=new_customer + 1,
                            amount="1000.00"),
    }
    order = ["chg1", "cxl3", "ord1", "conv1", "ord4", "won1", "conv2", "ord2", "ord3",
             "opp1", "lead2", "lead1"]
    duplicates = ["ord1", "chg1", "conv1", "lead1"]
    publish_sales(config, [ev[k] for k in order] + [ev[k] for k in duplicates])
    expected = {"participants": 3, "attended": 2, "attendance_rate": 0.6667,
                "leads_generated": 2, "leads_in_sales": 2, "leads_converted": 2,
                "lead_conversion_rate": 1.0, "opportunities": 2, "opportunities_won": 1,
                "orders": 2, "won_amount": "120000.00", "cost": "40000.00", "roi": 2.0}
    result, got = _wait_for(rpc, cid, expected)
    assert got == expected, result
    time.sleep(0.5)  # duplicates are skipped, numbers stay
    result, got = _wait_for(rpc, cid, expected, timeout=0)
    assert got == expected
    assert _inbox_count(config, [e["event_id"] for e in ev.values()]) == len(ev)
    with rpc(MK) as p:
        part = p.marketing.get_participant(cid, p1["id"])
        assert part["sales_lead_id"] == L1
        # the cost comes in late: ROI follows it
        p.marketing.update_campaign(cid, {"cost": "0"})
        assert p.marketing.evaluate_campaign(cid)["roi"] is None
        p.marketing.update_campaign(cid, {"cost": "60000"})
        assert p.marketing.evaluate_campaign(cid)["roi"] == 1.0


def test_bad_event_is_dead_lettered_and_others_keep_flowing(rpc, config):
    u = uuid.uuid4().hex[:8]
    with rpc(MK) as p:
        c = p.marketing.create_campaign(plan(format="online"))
    bad = sales_event("lead_created", _at(1), source="campaign", campaign_id=c["id"])
    good = sales_event("lead_created", _at(2), lead_id=f"L-{u}", source="campaign",
                       campaign_id=c["id"])
    publish_sales(config, [bad, good])
    result, got = _wait_for(rpc, c["id"], {"leads_in_sales": 1})
    assert got == {"leads_in_sales": 1}
