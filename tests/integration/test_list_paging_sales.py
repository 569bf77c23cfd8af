"""Keyset paging of sales follow-ups (due_at, id), activities (id) and the pipeline
board's columns (id) over real RabbitMQ (issue 20): walking with ``next_cursor`` returns
every row once, in the list's order, while rows are created between pages; the page
numbers give the same rows; a garbage or foreign cursor is a ValidationError naming
``cursor`` (a 422 over HTTP, and ``?cursor=`` is in the OpenAPI)."""
import datetime as dt
import uuid

import pytest
import requests

from services.common.auth import mint_token
from services.common.cli.demo import demo_customers
from services.common.errors import ValidationError
from services.customers.service import CustomersService
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]
SALES = actor(f"ps-s-{TAG}")


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(SalesGateway, CustomersService, SalesService)


@pytest.fixture()
def opportunity(base, rpc):
    with rpc(SALES) as p:
        seed = uuid.uuid4().int % 10**9
        customer = p.customers.create_customer(next(demo_customers(1, [SALES["id"]],
                                                              seed=seed)))["id"]
        return [p.sales.create_opportunity({"customer_id": customer, "amount": "1000.00",
                                            "name": f"分页商机{i}{TAG}",
                                            "expected_close_date": "2031-01-15"})["id"]
                for i in range(2)]


def walk(call, page_size, create):
    """Walk by cursor, calling ``create`` after the first page → the ids walked."""
    got = call(page_size=page_size)
    ids, cursor = [x["id"] for x in got["items"]], got["next_cursor"]
    assert cursor is not None
    create()
    for _ in range(100):
        got = call(page_size=page_size, cursor=cursor)
        ids += [x["id"] for x in got["items"]]
        cursor = got["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("no end")


def by_pages(call, page_size, n):
    out = []
    for page in range(1, n // page_size + 2):
        out += [x["id"] for x in call(page=page, page_size=page_size)["items"]]
    return out


def refused(call, *cursors):
    for cursor in ("garbage", "eyJmIjoieCJ9", *cursors):
        with pytest.raises(ValidationError) as exc:
            call(page_size=2, cursor=cursor)
        assert set(exc.value.fields) == {"cursor"}, cursor


def test_follow_ups_walk_by_due_then_id(opportunity, rpc):
    opp = opportunity[0]
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=30)
    # due times out of creation order, two of them equal (the id breaks the tie)
    offsets = [5, 1, 3, 3, 2]
    with rpc(SALES) as p:
        made = [(soon + dt.timedelta(hours=h), p.sales.schedule_follow_up(
            opp, (soon + dt.timedelta(hours=h)).isoformat())["id"]) for h in offsets]
        expected = [i for _, i in sorted(made)]

        def call(**kw):
            return p.sales.list_follow_ups({"opportunity_id": opp}, **kw)
        late = []

        def create():  # due after all of them: walked last, once
            late.append(p.sales.schedule_follow_up(
                opp, (soon + dt.timedelta(hours=9)).isoformat())["id"])
        ids = walk(call, 2, create)
        assert ids == expected + late
        assert by_pages(call, 2, 6) == ids
        got = call(page_size=2)
        assert got["total"] == 6 and got["total_is_estimate"] is False
        foreign = p.sales.list_follow_ups({"status": "open"}, page_size=1)["next_cursor"]
        refused(call, foreign)


def test_activities_walk_in_id_order(opportunity, rpc):
    opp = opportunity[1]
    with rpc(SALES) as p:
        made = [p.sales.log_activity(opp, "phone", f"沟通{i}")["id"] for i in range(5)]

        def call(**kw):
            return p.sales.list_activities({"opportunity_id": opp}, **kw)
        late = []
        ids = walk(call, 2, lambda: late.append(
            p.sales.log_activity(opp, "visit", "新的拜访")["id"]))
        assert ids == sorted(made) + late
        assert by_pages(call, 2, 6) == ids
        foreign = p.sales.list_activities({"opportunity_id": opportunity[0]},
                                          page_size=1)
        refused(call, *([foreign["next_cursor"]] if foreign["next_cursor"] else []))


def test_board_column_walks_by_cursor(base, rpc):
    owner = actor(f"ps-b-{uuid.uuid4().hex[:6]}")
    with rpc(owner) as p:
        seed = uuid.uuid4().int % 10**9
        customer = p.customers.create_customer(next(demo_customers(1, [owner["id"]],
                                                              seed=seed)))["id"]

        def new():
            return p.sales.create_opportunity({"customer_id": customer, "amount": "10.00",
                                               "expected_close_date": "2031-01-15"})["id"]
        made = [new() for _ in range(5)]  # qualify, the caller's own

        def call(**kw):
            return p.sales.board_column("qualify", **kw)
        late = []
        ids = walk(call, 2, lambda: late.append(new()))
        assert ids == sorted(made) + late
        assert by_pages(call, 2, 6) == ids
        got = call(page_size=2)
        assert got["total"] == 6 and got["total_is_estimate"] is False
        assert got["stage"] == "qualify"
        # the board takes a column's cursor; the other columns stay on their page
        board = p.sales.pipeline_board(page_size=2,
                                       cursors={"qualify": got["next_cursor"]})
        col = next(c for c in board["columns"] if c["stage"] == "qualify")
        assert [x["id"] for x in col["items"]] == ids[2:4]
        assert col["total"] == 6 and col["next_cursor"] is not None
        # a cursor of another stage's column (or another list) is refused
        refused(call, p.sales.list_opportunities({}, page_size=1)["next_cursor"])
        with pytest.raises(ValidationError) as exc:
            p.sales.board_column("propose", cursor=got["next_cursor"])
        assert set(exc.value.fields) == {"cursor"}
        with pytest.raises(ValidationError) as exc:
            p.sales.board_column("nowhere")
        assert set(exc.value.fields) == {"stage"}


def test_json_api_takes_the_cursor(base, config, opportunity, rpc):
    token = mint_token(config, SALES["id"], "staff", "sales")
    headers = {"Authorization": f"Bearer {token}"}
    with rpc(SALES) as p:
        made = [p.sales.log_activity(opportunity[0], "email", f"邮件{i}")["id"]
                for i in range(3)]
    seen, cursor = [], None
    for _ in range(10):
        url = f"{base}/opportunities/{opportunity[0]}/activities?channel=email&page_size=2"
        r = requests.get(url + (f"&cursor={cursor}" if cursor else ""), headers=headers,
                         timeout=10)
        assert r.status_code == 200, r.text
        seen += [x["id"] for x in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(made)
    spec = requests.get(f"{base}/openapi.json", timeout=10).json()["paths"]
    for url, path in (("/follow-ups", "/follow-ups"),
                      (f"/opportunities/{opportunity[0]}/activities",
                       "/opportunities/{opportunity_id}/activities"),
                      ("/pipeline/columns/qualify", "/pipeline/columns/{stage}")):
        r = requests.get(f"{base}{url}?cursor=bogus", headers=headers, timeout=10)
        assert r.status_code == 422, (url, r.text)
        assert set(r.json()["fields"]) == {"cursor"}, url
        assert "cursor" in {q["name"] for q in spec[path]["get"]["parameters"]}, path
