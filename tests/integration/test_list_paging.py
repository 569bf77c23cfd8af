"""Keyset paging of the other big lists over real RabbitMQ (issue 20): leads,
opportunities, orders (sales), tickets incl. sort=due (service desk) — walking with
``next_cursor`` gives exactly the rows the old ``page`` numbers give, nothing repeated,
new rows never shift a cursor walk, and a foreign or tampered cursor is a 4xx naming
``cursor``."""
import uuid

import pytest

from services.common.cli.demo import demo_customers
from services.common.errors import ValidationError
from services.customers.service import CustomersService
from services.sales.service import SalesService
from services.service_desk.service import ServiceDeskService
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration
SALES = actor(f"pg-s-{uuid.uuid4().hex[:6]}")
AGENT = actor(f"pg-a-{uuid.uuid4().hex[:6]}", "staff", "service")


@pytest.fixture(scope="module", autouse=True)
def _stack(module_services):
    module_services(CustomersService, SalesService, ServiceDeskService)


def walk(call, page_size, **filters):
    seen, cursor, answers = [], None, []
    for _ in range(100):
        got = call(filters, page_size=page_size, cursor=cursor)
        answers.append(got)
        seen += [x["id"] for x in got["items"]]
        cursor = got["next_cursor"]
        if cursor is None:
            return seen, answers
    raise AssertionError("no end")


def by_pages(call, page_size, n, **filters):
    out = []
    for page in range(1, n // page_size + 2):
        out += [x["id"] for x in call(filters, page=page, page_size=page_size)["items"]]
    return out


def test_leads_cursor_equals_pages_and_ignores_new_rows(rpc):
    with rpc(SALES) as p:
        for i in range(7):
            p.sales.create_lead({"source": "website", "customer_name": f"分页公司{i}",
                                 "contact_name": "王经理", "need": "设备"})
        walked, answers = walk(p.sales.list_leads, 3)
        assert walked == by_pages(p.sales.list_leads, 3, 7)
        assert len(walked) == len(set(walked)) == 7
        assert all(a["total"] == 7 and a["total_is_estimate"] is False for a in answers)
        assert answers[0]["page"] == 1 and answers[0]["page_size"] == 3
        # a lead created between two pages comes after the cursor, once
        first = p.sales.list_leads({}, page_size=3)
        p.sales.create_lead({"source": "website", "customer_name": "新来的公司",
                             "contact_name": "李经理", "need": "设备"})
        rest, cursor = [], first["next_cursor"]
        while cursor:
            got = p.sales.list_leads({}, page_size=3, cursor=cursor)
            rest += [x["id"] for x in got["items"]]
            cursor = got["next_cursor"]
        ids = [x["id"] for x in first["items"]] + rest
        assert len(ids) == len(set(ids)) == 8 and ids[:7] == walked
        with pytest.raises(ValidationError) as exc:
            p.sales.list_leads({"status": "new"}, page_size=3, cursor=first["next_cursor"])
        assert set(exc.value.fields) == {"cursor"}
        with pytest.raises(ValidationError) as exc:
            p.sales.list_orders({}, cursor="garbage")
        assert set(exc.value.fields) == {"cursor"}
        assert p.sales.list_opportunities({})["next_cursor"] is None


def test_tickets_cursor_equals_pages_in_both_orders(rpc):
    with rpc(AGENT) as p:
        seed = uuid.uuid4().int % 10**9
        customer = p.customers.create_customer(next(demo_customers(1, [AGENT["id"]],
                                                                   seed=seed)))
        for i in range(5):
            p.service_desk.open_ticket({
                "kind": "complaint", "severity": ("high", "low")[i % 2],
                "customer_id": customer["id"], "complainant_name": "王女士",
                "complainant_contact": "13812345678", "channel": "phone",
                "subject": f"分页工单{i}", "description": "设备开机后报警。"})
        for sort in ({}, {"sort": "due"}):
            walked, answers = walk(p.service_desk.list_tickets, 2, **sort)
            assert walked == by_pages(p.service_desk.list_tickets, 2, len(walked), **sort)
            assert len(walked) == len(set(walked)) >= 5
            assert answers[-1]["total"] == len(walked)


def test_a_searched_mobile_is_never_logged(rpc, caplog):
    import logging
    caplog.set_level(logging.DEBUG)
    with rpc(SALES) as p:
        p.customers.list_customers({"q": "13912340987"})
        p.customers.list_customers({"q": "0987"})
        with pytest.raises(ValidationError):  # a refused search does not echo it either
            p.customers.list_customers({"q": "13912340987" * 10})
    logged = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    assert "13912340987" not in logged and "0987" not in logged


def test_customers_json_api_walks_with_the_cursor(module_gateway, config, rpc):
    import requests

    from services.common.auth import mint_token
    from services.customers.gateway import CustomersGateway
    base = module_gateway(CustomersGateway)
    who = f"pg-gw-{uuid.uuid4().hex[:6]}"
    headers = {"Authorization": f"Bearer {mint_token(config, who, 'staff', 'sales')}"}
    seed = uuid.uuid4().int % 10**9
    made = []
    with rpc(actor(who)) as p:
        for data in demo_customers(5, [who], seed=seed):
            made.append(p.customers.create_customer(dict(data, tags=["游标网关"]))["id"])
    seen, cursor = [], None
    while True:
        url = f"{base}/customers?tags_all=游标网关&page_size=2&sort=-updated"
        r = requests.get(url + (f"&cursor={cursor}" if cursor else ""), headers=headers,
                         timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == 5 and body["total_is_estimate"] is False
        seen += [c["id"] for c in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 5
    r = requests.get(f"{base}/customers?cursor=bogus", headers=headers, timeout=10)
    assert r.status_code == 422 and set(r.json()["fields"]) == {"cursor"}
    r = requests.get(f"{base}/customers?created_from=soon", headers=headers, timeout=10)
    assert r.status_code == 422 and set(r.json()["fields"]) == {"created_from"}
    spec = requests.get(f"{base}/openapi.json", timeout=10).json()
    params = {p["name"] for p in spec["paths"]["/customers"]["get"]["parameters"]}
    assert {"cursor", "created_from", "updated_to", "sort", "q"} <= params


def test_lead_and_ticket_search_take_percent_and_underscore_literally(rpc):
    tag = uuid.uuid4().hex[:6]
    with rpc(SALES) as p:
        hit = p.sales.create_lead({"source": "website", "customer_name": f"百分{tag}%公司",
                                   "contact_name": "王经理", "need": "设备"})
        p.sales.create_lead({"source": "website", "customer_name": f"百分{tag}X公司",
                             "contact_name": "王经理", "need": "设备"})
        got = p.sales.list_leads({"q": f"{tag}%"})["items"]
        assert [x["id"] for x in got] == [hit["id"]]
        assert [x["id"] for x in p.sales.list_leads({"q": f"{tag}_"})["items"]] == []
    with rpc(AGENT) as p:
        seed = uuid.uuid4().int % 10**9
        customer = p.customers.create_customer(next(demo_customers(1, [AGENT["id"]],
                                                                   seed=seed)))
        t = p.service_desk.open_ticket({
            "kind": "complaint", "severity": "low", "customer_id": customer["id"],
            "complainant_name": "王女士", "complainant_contact": "13812345678",
            "channel": "phone", "subject": f"下划线{tag}_工单", "description": "报警。"})
        assert [x["id"] for x in p.service_desk.list_tickets({"q": f"{tag}_"})["items"]] \
            == [t["id"]]
        assert p.service_desk.list_tickets({"q": f"{tag}%"})["items"] == []
