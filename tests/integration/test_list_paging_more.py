"""Keyset paging of care plans, FAQ (service desk), campaigns and participants
(marketing) over real RabbitMQ (issue 20): walking with ``next_cursor`` returns every
row once in the list's order while rows are created between pages, the old ``page``
numbers give the same rows, and a garbage or foreign cursor is a ValidationError naming
``cursor`` (a 422 over HTTP)."""
import uuid

import pytest
import requests

from services.common.auth import mint_token
from services.common.cli.demo import demo_customers
from services.common.errors import ValidationError
from services.customers.service import CustomersService
from services.marketing.gateway import MarketingGateway
from services.marketing.service import MarketingService
from services.service_desk.gateway import ServiceDeskGateway
from services.service_desk.service import ServiceDeskService
from tests.integration.test_marketing_support import contact, plan, running_campaign
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]
AGENT = actor(f"pm-a-{TAG}", "staff", "service")
MANAGER = actor(f"pm-m-{TAG}", "manager", "management")
MARKETER = actor(f"pm-k-{TAG}", "staff", "marketing")


@pytest.fixture(scope="module")
def bases(module_gateway):
    desk = module_gateway(ServiceDeskGateway, CustomersService, ServiceDeskService)
    mk = module_gateway(MarketingGateway, MarketingService)
    return {"service_desk": desk, "marketing": mk}


def walk_creating(call, page_size, create, expect_new_in_walk):
    """Walk by cursor, creating a row after the first page → (ids walked, the new id)."""
    got = call(page_size=page_size)
    ids, cursor, new_id = [x["id"] for x in got["items"]], got["next_cursor"], create()
    assert cursor is not None
    for _ in range(100):
        got = call(page_size=page_size, cursor=cursor)
        ids += [x["id"] for x in got["items"]]
        cursor = got["next_cursor"]
        if cursor is None:
            break
    assert len(ids) == len(set(ids)), ids
    assert (new_id in ids) is expect_new_in_walk
    return ids, new_id


def by_pages(call, page_size, n):
    out = []
    for page in range(1, n // page_size + 2):
        out += [x["id"] for x in call(page=page, page_size=page_size)["items"]]
    return out


def bad_cursors(call, foreign):
    for cursor in ("garbage", "eyJmIjoieCJ9", foreign):
        with pytest.raises(ValidationError) as exc:
            call(page_size=2, cursor=cursor)
        assert set(exc.value.fields) == {"cursor"}


def test_faq_walks_by_cursor_in_id_order(bases, rpc):
    category = f"分页{TAG}"
    with rpc(MANAGER) as p:
        made = [p.service_desk.create_faq({"question": f"问题{i}{TAG}", "answer": "答案",
                                           "category": category})["id"] for i in range(5)]

        def call(**kw):
            return p.service_desk.list_faqs({"category": category}, **kw)

        def create():
            return p.service_desk.create_faq({"question": f"新问题{TAG}", "answer": "答案",
                                              "category": category})["id"]
        ids, new_id = walk_creating(call, 2, create, True)
        assert ids == sorted(made) + [new_id]  # id order; the new row last, once
        assert by_pages(call, 2, 6) == ids
        got = call(page_size=2)
        assert got["total"] == 6 and got["total_is_estimate"] is False
        foreign = p.service_desk.list_faqs({}, page_size=1)["next_cursor"]
        bad_cursors(call, foreign)


def test_care_plans_walk_by_cursor_in_id_order(bases, rpc):
    with rpc(AGENT) as p:
        seed = uuid.uuid4().int % 10**9
        customers = [p.customers.create_customer(c)["id"]
                     for c in demo_customers(3, [AGENT["id"]], seed=seed)]
        made = []
        for cid in customers[:2]:
            for kind in ("birthday", "holiday"):
                made.append(p.service_desk.create_care_plan(cid, kind,
                                                            start_date="2026-01-01")["id"])

        def call(**kw):
            return p.service_desk.list_care_plans(None, **kw)

        def create():
            return p.service_desk.create_care_plan(customers[2], "holiday",
                                                   start_date="2026-01-01")["id"]
        ids, new_id = walk_creating(call, 3, create, True)
        assert ids == sorted(made) + [new_id]
        assert by_pages(call, 3, 5) == ids
        assert [x["id"] for x in p.service_desk.list_care_plans(customers[0])["items"]] \
            == sorted(made[:2])
        foreign = p.service_desk.list_care_plans(customers[0], page_size=1)["next_cursor"]
        bad_cursors(call, foreign)


def test_campaigns_walk_newest_first_and_participants_in_id_order(bases, rpc):
    with rpc(MARKETER) as p:
        made = [p.marketing.create_campaign(plan(theme=f"分页活动{i}"))["id"]
                for i in range(5)]

        def call(**kw):
            return p.marketing.list_campaigns({"owner_id": MARKETER["id"]}, **kw)

        def create():
            return p.marketing.create_campaign(plan(theme="新活动"))["id"]
        # newest first: a campaign created meanwhile sorts before the cursor, so the walk
        # goes on with the older ones and never repeats one
        ids, _new = walk_creating(call, 2, create, False)
        assert ids == sorted(made, reverse=True)
        assert call(page_size=2)["total"] == 6
        foreign = p.marketing.list_campaigns({}, page_size=1)["next_cursor"]
        bad_cursors(call, foreign)

        c = running_campaign(p)
        parts = [p.marketing.register_participant(c["id"], {"contact": contact()})["id"]
                 for _ in range(5)]

        def parts_call(**kw):
            return p.marketing.list_participants(c["id"], **kw)

        def join():
            return p.marketing.register_participant(c["id"], {"contact": contact()})["id"]
        ids, new_id = walk_creating(parts_call, 2, join, True)
        assert ids == sorted(parts) + [new_id]
        assert by_pages(parts_call, 2, 6) == ids
        bad_cursors(parts_call, foreign)


def test_json_api_takes_the_cursor(bases, config, rpc):
    category = f"接口{TAG}"
    with rpc(MANAGER) as p:
        made = [p.service_desk.create_faq({"question": f"接口问题{i}{TAG}", "answer": "答",
                                           "category": category})["id"] for i in range(3)]
    token = mint_token(config, MANAGER["id"], "manager", "management")
    headers = {"Authorization": f"Bearer {token}"}
    seen, cursor = [], None
    for _ in range(10):
        url = f"{bases['service_desk']}/faqs?category={category}&page_size=2"
        r = requests.get(url + (f"&cursor={cursor}" if cursor else ""), headers=headers,
                         timeout=10)
        assert r.status_code == 200, r.text
        seen += [x["id"] for x in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(made)
    for base, path in ((bases["service_desk"], "/faqs"), (bases["service_desk"], "/care-plans"),
                       (bases["marketing"], "/campaigns")):
        r = requests.get(f"{base}{path}?cursor=bogus", headers=headers, timeout=10)
        assert r.status_code == 422, (path, r.text)
        assert set(r.json()["fields"]) == {"cursor"}, path
        params = {q["name"] for q in requests.get(f"{base}/openapi.json", timeout=10)
                  .json()["paths"][path]["get"]["parameters"]}
        assert "cursor" in params, path
