"""The sales workspace's pages through the real gateway, broker and services: staff B
cannot see or act on staff A's lead, opportunity or order (the 404 page, nothing
written), cannot move A's card or export A's rows; a form without its CSRF token is
refused with nothing written; bad input in every form comes back next to its field and
writes nothing."""
import uuid

import pytest

from services.common.cli.demo import demo_customers
from services.customers.service import CustomersService
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from tests.support.fixtures import actor
from tests.support.sales_web import Browserless

pytestmark = pytest.mark.integration
LINES = [{"product": "设备A", "quantity": "2", "unit_price": "100.00"}]


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(SalesGateway, CustomersService, SalesService)


@pytest.fixture(scope="module")
def rpc(config):
    from services.common.cli.rpc_client import cluster
    return lambda who=None, timeout=15: cluster(config, who, timeout)


@pytest.fixture(scope="module")
def world(base, config, rpc):
    """Staff A with a lead, an opportunity (with a follow-up) and an order; staff B."""
    a, b = f"sa-{uuid.uuid4().hex[:6]}", f"sb-{uuid.uuid4().hex[:6]}"
    data = next(demo_customers(1, [a], seed=uuid.uuid4().int % 10**9))
    tag = uuid.uuid4().hex[:6]
    with rpc(actor(a)) as p:
        c = p.customers.create_customer(dict(data, type="potential", influence=1))
        lead = p.sales.create_lead({"source": "website", "customer_name": f"甲公司{tag}",
                                    "contact_mobile": "13900002222"})
        opp = p.sales.create_opportunity({"customer_id": c["id"], "amount": "500.00",
                                          "expected_close_date": "2030-01-31",
                                          "name": f"甲商机{tag}"})
        fu = p.sales.schedule_follow_up(opp["id"], "2031-01-01T10:00:00+08:00", "n")
        order = p.sales.create_order({"customer_id": c["id"], "lines": LINES})
    return {"a": Browserless(base, config, a), "b": Browserless(base, config, b),
            "rpc": rpc, "A": actor(a), "lead": lead, "opp": opp, "fu": fu, "order": order,
            "customer": c, "tag": tag}


def _state(w):
    with w["rpc"](w["A"]) as p:
        return (p.sales.get_lead(w["lead"]["id"]), p.sales.get_opportunity(w["opp"]["id"]),
                p.sales.get_order(w["order"]["id"]), p.sales.get_follow_up(w["fu"]["id"]),
                p.sales.list_activities({"opportunity_id": w["opp"]["id"]})["total"],
                p.sales.list_leads({})["total"], p.sales.list_orders({})["total"])


def _volatile(state):
    """Drop what changes with the clock (time in the open stage, overdue flags)."""
    lead, opp, order, fu, acts, leads, orders = state
    opp = {k: v for k, v in opp.items() if k not in ("time_in_stage", "stage_history")}
    return lead, opp, order, {k: v for k, v in fu.items() if k != "overdue"}, acts, leads, \
        orders


def test_staff_b_gets_the_404_page_for_a_records_and_writes_nothing(world):
    b, w = world["b"], world
    before = _volatile(_state(w))
    for path in (f"/app/leads/{w['lead']['id']}", f"/app/opportunities/{w['opp']['id']}",
                 f"/app/orders/{w['order']['id']}"):
        r = b.get(path)
        assert r.status_code == 404 and "<html" in r.text and w["tag"] not in r.text, path
    posts = [
        (f"/app/leads/{w['lead']['id']}/convert", {"amount": "1.00",
                                                   "expected_close_date": "2030-01-01"}),
        (f"/app/leads/{w['lead']['id']}/disqualify", {"reason": "x"}),
        (f"/app/opportunities/{w['opp']['id']}/stage", {"stage": "propose",
                                                         "back": "/app/pipeline"}),
        (f"/app/opportunities/{w['opp']['id']}/follow-ups", {"due_at": "2031-02-01T10:00"}),
        (f"/app/opportunities/{w['opp']['id']}/follow-ups/{w['fu']['id']}/complete",
         {"outcome": "x"}),
        (f"/app/opportunities/{w['opp']['id']}/activities", {"channel": "phone",
                                                              "summary": "x"}),
        (f"/app/opportunities/{w['opp']['id']}/lose", {"reason": "x"}),
        (f"/app/orders/{w['order']['id']}/ship", {}),
        (f"/app/orders/{w['order']['id']}/payments", {"amount": "1.00"}),
        (f"/app/orders/{w['order']['id']}/cancel", {"reason": "x"}),
        (f"/app/orders/{w['order']['id']}/change", {"delivery_date": "2030-01-01"}),
    ]
    for path, data in posts:
        r = b.post(path, data)
        assert r.status_code == 404, (path, r.status_code, r.headers.get("Location"))
    assert _volatile(_state(w)) == before


def test_staff_b_board_and_exports_hold_none_of_a_rows(world):
    b, w = world["b"], world
    assert f'data-opportunity="{w["opp"]["id"]}"' not in b.get("/app/pipeline").text
    assert f'data-opportunity="{w["opp"]["id"]}"' in w["a"].get("/app/pipeline").text
    for kind in ("leads", "opportunities", "orders"):
        for fmt in ("csv", "xlsx"):
            theirs = b.get(f"/app/{kind}/export.{fmt}?owner_id={w['A']['id']}")
            assert theirs.status_code == 200
            assert w["tag"].encode() not in theirs.content
        mine = w["a"].get(f"/app/{kind}/export.csv").content.decode("utf-8-sig")
        assert str({"leads": w["lead"], "opportunities": w["opp"],
                    "orders": w["order"]}[kind]["id"]) in mine
    assert w["tag"] in w["a"].get("/app/leads/export.csv").content.decode("utf-8-sig")


def test_csrf_missing_or_wrong_is_refused_with_nothing_written(world):
    a, w = world["a"], world
    before = _volatile(_state(w))
    for token in (False, "forged"):
        r = a.post("/app/leads/new", {"source": "website", "customer_name": "伪造公司"},
                   csrf=token)
        assert r.status_code == 403
        r = a.post(f"/app/orders/{w['order']['id']}/payments", {"amount": "1.00"},
                   csrf=token)
        assert r.status_code == 403
        r = a.post(f"/app/opportunities/{w['opp']['id']}/stage", {"stage": "propose"},
                   csrf=token)
        assert r.status_code == 403
    assert _volatile(_state(w)) == before


BAD_FORMS = [
    ("/app/leads/new", {"source": "nowhere", "customer_name": "x"}, "f-source"),
    ("/app/leads/new", {"source": "website", "customer_name": "好公司",
                        "contact_mobile": "110"}, "f-contact_mobile"),
    ("/app/leads/new", {"source": "campaign", "customer_name": "好公司"}, "f-campaign_id"),
    ("/app/leads/new", {"source": "website", "customer_name": "好公司",
                        "need": "身份证 11010519491231002X (GB 11643 sample)"}, "f-need"),
    ("{lead}/convert", {"amount": "-5", "expected_close_date": "2030-01-01"}, "f-amount"),
    ("{lead}/convert", {"amount": "5", "expected_close_date": "someday"},
     "f-expected_close_date"),
    ("{lead}/disqualify", {"reason": ""}, "f-reason"),
    ("{opp}/follow-ups", {"due_at": "2001-01-01T10:00"}, "f-due_at"),
    ("{opp}/follow-ups", {"due_at": "not a time"}, "f-due_at"),
    ("{opp}/activities", {"channel": "pigeon", "summary": "x"}, "f-channel"),
    ("{opp}/activities", {"channel": "phone", "summary": ""}, "f-summary"),
    ("{opp}/lose", {"reason": ""}, "f-reason"),
    ("{opp}/follow-ups/{fu}/complete", {"outcome": ""}, "f-outcome"),
    ("/app/orders/new", {"customer_id": "abc", "lines.0.product": "A",
                         "lines.0.quantity": "1", "lines.0.unit_price": "1"}, "f-customer_id"),
    ("/app/orders/new", {"customer_id": "{customer}", "lines.0.product": "A",
                         "lines.0.quantity": "-1", "lines.0.unit_price": "1"},
     "f-lines-0-quantity"),
    ("/app/orders/new", {"customer_id": "{customer}", "lines.1.product": "A",
                         "lines.1.quantity": "1", "lines.1.unit_price": "1.001"},
     "f-lines-1-unit_price"),
    ("{order}/payments", {"amount": "999999.00"}, "f-amount"),
    ("{order}/payments", {"amount": "0"}, "f-amount"),
    ("{order}/cancel", {"reason": ""}, "f-reason"),
    ("{order}/change", {"delivery_date": "tomorrow", "lines.0.product": "A",
                        "lines.0.quantity": "1", "lines.0.unit_price": "1"}, "f-delivery_date"),
]


@pytest.mark.parametrize("path,data,field_id", BAD_FORMS,
                         ids=[f"{p.split('/')[-1]}-{f}" for p, _, f in BAD_FORMS])
def test_bad_input_is_shown_next_to_the_field_and_writes_nothing(world, path, data, field_id):
    a, w = world["a"], world
    path = path.format(lead=f"/app/leads/{w['lead']['id']}",
                       opp=f"/app/opportunities/{w['opp']['id']}",
                       order=f"/app/orders/{w['order']['id']}", fu=w["fu"]["id"])
    data = {k: v.format(customer=w["customer"]["id"]) for k, v in data.items()}
    before = _volatile(_state(w))
    r = a.post(path, data)
    assert r.status_code == 422, (path, r.status_code, r.text[-800:])
    # the message sits in the field's own block, right above its input
    block = r.text[:r.text.index(f'id="{field_id}"')].rsplit('<div class="field', 1)[-1]
    assert "field--error" in block and 'class="field-error"' in block, (path, field_id)
    assert _volatile(_state(w)) == before


def test_manager_forms_refuse_bad_input_next_to_the_field(world, base, config):
    """Assignment with no matching rule, a rule list with the fallback not last: the
    messages sit next to their fields and nothing changes."""
    boss = Browserless(base, config, f"mg-{uuid.uuid4().hex[:6]}", "manager", "sales")
    with world["rpc"](actor("rules-keeper", "manager")) as p:
        rules_before = p.sales.get_assignment_rules()
        p.sales.set_assignment_rules([{"kind": "region", "region": "不存在的地区",
                                       "owner_id": "nobody"}])
        lead = p.sales.create_lead({"source": "phone", "customer_name": "无规则公司"})
    try:
        r = boss.post(f"/app/leads/{lead['id']}/assign", {"owner_id": ""})
        assert r.status_code == 409
        block = r.text[:r.text.index('id="f-owner_id"')].rsplit('<div class="field', 1)[-1]
        assert "field--error" in block
        r = boss.post("/app/assignment-rules", {
            "rows": "2", "rules.0.kind": "round_robin", "rules.0.team": "u1, u2",
            "rules.1.kind": "region", "rules.1.region": "上海", "rules.1.owner_id": "u3"})
        assert r.status_code == 422
        assert '<tr class="row-late" id="rule-0">' in r.text  # the fallback is not last
        with world["rpc"](actor("rules-keeper", "manager")) as p:
            assert p.sales.get_lead(lead["id"])["owner_id"] is None
            assert [x["kind"] for x in p.sales.get_assignment_rules()["rules"]] == ["region"]
    finally:
        with world["rpc"](actor("rules-keeper", "manager")) as p:
            p.sales.set_assignment_rules([{k: v for k, v in r.items()
                                           if k not in ("position", "cursor")}
                                          for r in rules_before["rules"]])


def test_pages_in_english(world):
    a = world["a"]
    for path, words in (("/app/my-day?lang=en", "My day"), ("/app/pipeline", "Pipeline"),
                        ("/app/leads", "Leads"), ("/app/orders", "Orders"),
                        ("/app/forecast", "Forecast"), ("/app/channels", "Channel analysis")):
        r = a.get(path)
        assert r.status_code == 200 and words in r.text and 'lang="en"' in r.text, path
    a.get("/app/my-day?lang=zh_CN")
