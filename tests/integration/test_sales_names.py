"""Names, not numbers (issue 18 audit): the orders list names each order's customer and
the channel analysis each campaign, asked of customers / marketing in ONE batched call per
page (customers.customer_names, marketing.campaign_names; services/common/name_lookup.py),
as the system for the rows the user already sees. Real broker and DB, four services and
the sales gateway."""
import datetime as dt
import re
import uuid

import pytest
from prometheus_client import REGISTRY

from services.common.cli.demo import demo_customers
from services.common.errors import ValidationError
from services.customers.service import CustomersService
from services.marketing.service import MarketingService
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from tests.support.fixtures import actor
from tests.support.sales_web import Browserless

pytestmark = pytest.mark.integration

BOSS = actor("nm-boss", "manager", "management")
LINES = [{"product": "阀门", "quantity": "1", "unit_price": "100.00"}]


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(SalesGateway, CustomersService, MarketingService, SalesService)


def _calls(service, method):
    return REGISTRY.get_sample_value("crm_entrypoint_calls_total", {
        "service": service, "kind": "rpc", "method": method, "outcome": "success"}) or 0


def _customer(p, owner, name):
    data = next(demo_customers(1, [owner], seed=uuid.uuid4().int % 10**9))
    return p.customers.create_customer(dict(data, name=name, type="potential", influence=1))


def test_customer_names_batch_rpc_follows_access(base, rpc):
    me, other = f"nm-{uuid.uuid4().hex[:6]}", f"nm-{uuid.uuid4().hex[:6]}"
    with rpc(actor(me)) as p:
        mine = _customer(p, me, f"名字甲{uuid.uuid4().hex[:4]}有限公司")
    with rpc(actor(other)) as p:
        theirs = _customer(p, other, f"名字乙{uuid.uuid4().hex[:4]}有限公司")
    ids = [mine["id"], theirs["id"], 10 ** 12, "not-a-number"]
    with rpc(actor(me)) as p:  # staff: only the customers they may see
        assert p.customers.customer_names(ids) == {str(mine["id"]): mine["name"]}
        with pytest.raises(ValidationError) as err:
            p.customers.customer_names("1,2")
        assert "ids" in err.value.fields
        with pytest.raises(ValidationError):
            p.customers.customer_names(list(range(1, 502)))
    with rpc(BOSS) as p:
        assert p.customers.customer_names(ids) == {str(mine["id"]): mine["name"],
                                                   str(theirs["id"]): theirs["name"]}


def test_orders_list_names_customers_in_one_call_per_page(base, config, rpc):
    me = f"no-{uuid.uuid4().hex[:6]}"
    with rpc(actor(me)) as p:
        customers = [_customer(p, me, f"订单客户{i}{uuid.uuid4().hex[:4]}有限公司")
                     for i in range(3)]
        orders = [p.sales.create_order({"customer_id": c["id"], "lines": LINES})
                  for c in customers for _ in range(2)]
    # one customer moves to another salesperson: my order still shows its name (sales
    # asks as the system, for my rows only)
    with rpc(BOSS) as p:
        p.customers.set_owner(customers[0]["id"], f"elsewhere-{uuid.uuid4().hex[:4]}")
    want = {o["id"]: c["name"] for o, c in zip(orders, [c for c in customers for _ in (0, 1)],
                                                 strict=True)}
    before = _calls("customers", "customer_names")
    with rpc(actor(me)) as p:
        items = p.sales.list_orders(page_size=20)["items"]
    assert _calls("customers", "customer_names") - before == 1  # six rows, one call
    assert {o["id"]: o["customer_name"] for o in items} == want
    u = Browserless(base, config, me)
    before = _calls("customers", "customer_names")
    page = u.get("/app/orders").text
    assert _calls("customers", "customer_names") - before == 1
    for order_id, name in want.items():
        row = re.search(f'<tr data-order="{order_id}">.*?</tr>', page, re.S).group(0)
        cell = re.search(r'<td data-customer="\d+"><a [^>]*>([^<]*)</a></td>', row).group(1)
        assert cell == name, row  # the name, not "#4"
    assert "<th>客户</th>" in page
    export = u.get("/app/orders/export.csv").content.decode("utf-8-sig")
    assert all(name in export for name in want.values())
    # the JSON API carries the name too (an added field: the contract grows, nothing breaks)
    import requests

    from services.common.auth import mint_token
    r = requests.get(f"{base}/orders?page_size=20", timeout=30, headers={
        "Authorization": f"Bearer {mint_token(config, me, 'staff', 'sales')}"})
    assert {o["id"]: o["customer_name"] for o in r.json()["items"]} == want
    spec = requests.get(f"{base}/openapi.json", timeout=30).text
    assert "customer_name" in spec and "campaign_name" in spec


def test_channel_analysis_names_campaigns(base, config, rpc):
    year = 2400 + uuid.uuid4().int % 400
    theme = f"春季新品发布会{uuid.uuid4().hex[:4]}"
    with rpc(actor("mk1", "staff", "marketing")) as p:
        campaign = p.marketing.create_campaign({
            "theme": theme, "format": "exhibition",
            "starts_at": "2030-03-01T09:00:00+08:00", "ends_at": "2030-03-01T17:00:00+08:00"})
    me = f"nc-{uuid.uuid4().hex[:6]}"
    at = dt.datetime(year, 4, 10, 3, tzinfo=dt.UTC).isoformat()
    with rpc() as p:  # system: history import with ``at``
        for cid in (campaign["id"], 987654321):  # the second is unknown to marketing
            p.sales.create_lead({"source": "campaign", "campaign_id": cid, "owner_id": me,
                                 "customer_name": "活动来的公司"}, at=at)
    with rpc(actor(me)) as p:
        assert p.marketing.campaign_names([campaign["id"]]) == {}  # not a sales user's
        rows = p.sales.channel_analysis(f"{year}-04")["by_campaign"]
    names = {str(r["campaign_id"]): r["campaign_name"] for r in rows}
    assert names == {str(campaign["id"]): theme, "987654321": None}
    page = Browserless(base, config, me).get(f"/app/channels?period={year}-04").text
    row = re.search(f'<tr data-campaign="{campaign["id"]}".*?</tr>', page, re.S).group(0)
    assert theme in row
    row = re.search(r'<tr data-campaign="987654321".*?</tr>', page, re.S).group(0)
    assert "营销活动 987654321" in row  # unknown: the number, as before
