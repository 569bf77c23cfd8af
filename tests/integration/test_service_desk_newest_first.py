"""FAQ entries and care plans the newest first (issue 19: the workspace listed them
oldest first, so an entry just written was on the last page): ``newest_first=True``
on ``list_faqs`` / ``list_care_plans`` and ``?order=newest`` in JSON; id order stays the
default (the contract unchanged); a cursor keeps the order it was made for; a bad
``order`` or flag is refused by name. Real broker, SQLite or PostgreSQL."""
import uuid

import pytest
import requests

from services.common.auth import mint_token
from services.common.cli.demo import demo_customers
from services.common.errors import ValidationError
from services.customers.service import CustomersService
from services.service_desk.gateway import ServiceDeskGateway
from services.service_desk.service import ServiceDeskService
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]
AGENT = actor(f"nf-s-{TAG}", "staff", "service")


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(ServiceDeskGateway, CustomersService, ServiceDeskService)


def walk(call, **kw):
    """Every row's id, page by page through next_cursor."""
    ids, cursor = [], None
    while True:
        out = call(cursor=cursor, **kw)
        ids += [r["id"] for r in out["items"]]
        cursor = out["next_cursor"]
        if cursor is None:
            return ids


def test_faqs_newest_first_and_cursor_keeps_its_order(base, rpc, config):
    category = f"新旧{TAG}"
    with rpc(AGENT) as p:
        made = [p.service_desk.create_faq({"question": f"问题{i}{TAG}", "answer": "答",
                                           "category": category})["id"] for i in range(7)]
        lst = p.service_desk.list_faqs

        def call(cursor, newest_first=False):
            return lst({"category": category}, 1, 3, cursor, newest_first=newest_first)

        assert walk(call) == sorted(made)  # the default is unchanged
        assert walk(call, newest_first=True) == sorted(made, reverse=True)
        first = call(None, newest_first=True)
        assert [r["id"] for r in first["items"]] == sorted(made, reverse=True)[:3]
        assert first["total"] == 7
        # a cursor of one order is refused in the other (it names the filters it holds)
        with pytest.raises(ValidationError) as err:
            call(first["next_cursor"], newest_first=False)
        assert "cursor" in err.value.fields
        with pytest.raises(ValidationError) as err:
            lst({"category": category}, 1, 3, None, newest_first="yes")
        assert "newest_first" in err.value.fields

    h = {"Authorization": "Bearer " + mint_token(config, AGENT["id"], "staff", "service")}
    r = requests.get(f"{base}/faqs", params={"category": category, "order": "newest",
                                            "page_size": 2}, headers=h, timeout=10)
    assert r.status_code == 200
    assert [x["id"] for x in r.json()["items"]] == sorted(made, reverse=True)[:2]
    r = requests.get(f"{base}/faqs", params={"category": category}, headers=h, timeout=10)
    assert [x["id"] for x in r.json()["items"]][:2] == sorted(made)[:2]
    r = requests.get(f"{base}/faqs", params={"order": "oldest"}, headers=h, timeout=10)
    assert r.status_code == 422 and "order" in r.json()["fields"]


def test_care_plans_newest_first(base, rpc, config):
    with rpc() as p:
        data = next(demo_customers(1, ["sales-1"], seed=uuid.uuid4().int % 10**9))
        cid = p.customers.create_customer(data)["id"]
        made = [p.service_desk.create_care_plan(cid, kind, AGENT["id"], **extra)["id"]
                for kind, extra in (("birthday", {}), ("holiday", {}),
                                    ("contract_expiry", {"expiry_date": "2027-12-31"}))]
    with rpc(AGENT) as p:
        lst = p.service_desk.list_care_plans

        def call(cursor, newest_first=False):
            return lst(cid, 1, 2, cursor, newest_first=newest_first)

        assert walk(call) == sorted(made)
        assert walk(call, newest_first=True) == sorted(made, reverse=True)
    h = {"Authorization": "Bearer " + mint_token(config, AGENT["id"], "staff", "service")}
    r = requests.get(f"{base}/care-plans", params={"customer_id": cid, "order": "newest"},
                     headers=h, timeout=10)
    assert r.status_code == 200
    assert [x["id"] for x in r.json()["items"]] == sorted(made, reverse=True)
