"""Channel analysis end to end on the real broker: sales.channel_analysis (sales' own
tables) and reporting.kpis_by_source (reporting's folds of sales' events) give the same
figures to the cent, both equal the values worked out by hand below, and the managers'
dashboard shows them."""
import datetime as dt
import random
import re
import time
import uuid

import eventlet
import pytest
import requests

from services.common.auth import mint_token
from services.common.cli.demo import demo_customers
from services.customers.service import CustomersService
from services.reporting.gateway import ReportingGateway
from services.reporting.service import ReportingService
from services.sales.service import SalesService
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration

ADMIN = actor("ch-admin", "admin", "sales")
BOSS = actor("ch-boss", "manager", "management")


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(ReportingGateway, CustomersService, SalesService, ReportingService)


def at(year, month, day, hour=0, minute=0):
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC).isoformat()


def eventually(fn, timeout=30):
    deadline = time.time() + timeout
    while True:
        last = fn()
        if last[0]:
            return last[1]
        if time.time() > deadline:
            raise AssertionError(f"not equal in time: {last[1]}")
        eventlet.sleep(0.3)


def deal(p, source, created, amount=None, won=None, lost=None, campaign_id=None,
         customer_id=None, owner="ch-rep"):
    lead = p.sales.create_lead({"source": source, "customer_id": customer_id,
                                "owner_id": owner, "campaign_id": campaign_id}, at=created)
    if amount is None:
        return
    opp = p.sales.convert_lead(lead["id"], {"amount": amount,
                                            "expected_close_date": "2030-01-01"},
                               at=created)["opportunity"]
    if lost:
        p.sales.lose_opportunity(opp["id"], "price", at=lost)
    if won:
        p.sales.move_stage(opp["id"], "propose", at=won)
        p.sales.move_stage(opp["id"], "negotiate", at=won)
        p.sales.win_opportunity(opp["id"], at=won)


def test_sales_and_reporting_agree_to_the_cent_and_the_dashboard_shows_it(base, config, rpc):
    year = random.Random().randrange(2300, 2900)  # a year no other test writes
    cid = f"ch-{uuid.uuid4().hex[:6]}"
    with rpc(ADMIN) as p:
        data = next(demo_customers(1, ["ch-rep"], seed=uuid.uuid4().int % 10**9))
        c = p.customers.create_customer(dict(data, type="potential", influence=1))["id"]
        # Shanghai is UTC+8: 16:00 UTC on the 31st of March is April 1st there
        deal(p, "trade_show", at(year, 3, 31, 16), "1000.01", won=at(year, 4, 3, 16), customer_id=c)
        deal(p, "trade_show", at(year, 4, 10), "333.33", won=at(year, 4, 11, 12), customer_id=c)
        deal(p, "trade_show", at(year, 4, 12), "50.00", lost=at(year, 4, 13), customer_id=c)
        deal(p, "trade_show", at(year, 4, 14), customer_id=c)
        deal(p, "campaign", at(year, 4, 20), "0.01", won=at(year, 4, 20, 8), campaign_id=cid,
             customer_id=c)
        deal(p, "campaign", at(year, 4, 21), campaign_id=cid, customer_id=c)
        deal(p, "website", at(year, 5, 1), "77.00", won=at(year, 5, 2), customer_id=c)
        # May 1st 00:00 Shanghai = April 30th 16:00 UTC: May's lead, not April's
        deal(p, "phone", at(year, 4, 30, 16), customer_id=c)
    with rpc(ADMIN) as p:
        sales = p.sales.channel_analysis(f"{year}-04")

    def reporting_equal():
        with rpc(BOSS) as p:
            rep = p.reporting.kpis_by_source(f"{year}-04")
        mine = {k: rep[k] for k in ("by_source", "by_campaign", "total")}
        theirs = {k: sales[k] for k in ("by_source", "by_campaign", "total")}
        # sales names its campaigns (asked of marketing); reporting counts by id alone
        theirs["by_campaign"] = [{k: v for k, v in r.items() if k != "campaign_name"}
                                 for r in theirs["by_campaign"]]
        return mine == theirs, (mine, theirs)
    eventually(reporting_equal)

    # worked out by hand from the deals above
    ts = next(r for r in sales["by_source"] if r["source"] == "trade_show")
    assert ts == {"source": "trade_show", "leads": 4, "converted": 3, "won": 2, "lost": 1,
                  "won_amount": "1333.34", "conversion_rate": "0.7500",
                  "win_rate": "0.6667", "avg_cycle_days": "2.25"}   # (3 + 1.5) / 2
    camp = next(r for r in sales["by_source"] if r["source"] == "campaign")
    assert (camp["leads"], camp["won_amount"], camp["avg_cycle_days"]) == (2, "0.01", "0.33")
    assert [r["campaign_id"] for r in sales["by_campaign"]] == [cid]
    assert sales["by_campaign"][0]["conversion_rate"] == "0.5000"
    assert sales["total"]["leads"] == 6 and sales["total"]["won_amount"] == "1333.35"
    phone = next(r for r in sales["by_source"] if r["source"] == "phone")
    assert phone["leads"] == 0

    token = mint_token(config, "ch-boss", "manager", "management")
    html = requests.get(f"{base}/dashboard?period={year}-04&token={token}", timeout=30).text
    row = re.search(r"""<tr data-source=["']trade_show["'][^>]*>""", html).group(0)
    assert re.search(r"""data-won-amount=["']1333.34["']""", row), row
    assert re.search(r"""data-conversion-rate=["']0.7500["']""", row), row
    r = requests.get(f"{base}/kpis/by-source?period={year}-04",
                     headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200 and r.json()["total"]["won_amount"] == "1333.35"
    staff = mint_token(config, "ch-rep", "staff", "sales")
    r = requests.get(f"{base}/kpis/by-source?period={year}-04",
                     headers={"Authorization": f"Bearer {staff}"}, timeout=30)
    assert r.status_code == 403
