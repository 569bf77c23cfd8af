"""service_desk_gateway over HTTP: JWT (401), validation (422), BOLA (404),
illegal transitions (409), the public FAQ search, OpenAPI."""
import datetime as dt
import random
import uuid

import pytest
import requests

from services.common.auth import mint_token
from services.common.cli.demo import demo_customers
from services.customers.service import CustomersService
from services.service_desk.gateway import ServiceDeskGateway
from services.service_desk.service import ServiceDeskService
from tests.support.standards import bank_card, grouped, luhn_valid

pytestmark = pytest.mark.integration
AGENT = f"gw-agent-{uuid.uuid4().hex[:6]}"
OTHER = f"gw-other-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(ServiceDeskGateway, CustomersService, ServiceDeskService)


@pytest.fixture(scope="module")
def http(base, config):
    def make(user, role="staff"):
        s = requests.Session()
        s.headers["Authorization"] = "Bearer " + mint_token(config, user, role, "service")
        s.base = base
        return s
    return make


@pytest.fixture(scope="module")
def customer_id(base, config):
    from services.common.cli.rpc_client import cluster
    with cluster(config) as p:
        data = next(demo_customers(1, ["sales-1"], seed=uuid.uuid4().int % 10**9))
        return p.customers.create_customer(data)["id"]


@pytest.fixture(scope="module")
def manager(http, customer_id):
    m = http("gw-manager", "manager")
    for agent in (AGENT, OTHER):
        r = m.put(f"{m.base}/agents/{agent}", json={"name": agent, "categories": [agent]})
        assert r.status_code == 200, r.text
    return m


def ticket(customer_id, **over):
    data = {"kind": "inquiry", "severity": "medium", "customer_id": customer_id,
            "complainant_name": "李先生", "complainant_contact": "li@example.com",
            "channel": "online", "subject": "如何开发票", "description": "需要增值税专用发票"}
    data.update(over)
    return data


def test_auth_required_and_openapi(base):
    assert requests.get(f"{base}/tickets").status_code == 401
    r = requests.post(f"{base}/tickets", json={}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["error"] == "UNAUTHORIZED"
    spec = requests.get(f"{base}/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in ("/tickets", "/tickets/{ticket_id}/resolve", "/tickets/{ticket_id}/survey",
                 "/care-plans", "/care-tasks", "/faq", "/faqs/search", "/agents/{agent_id}"):
        assert path in spec["paths"], path
    assert "security" not in spec["paths"]["/faq"]["get"]
    assert requests.get(f"{base}/health").json()["status"] == "ok"


def test_ticket_flow_and_errors_over_http(http, manager, customer_id):
    m = manager
    r = m.post(f"{m.base}/tickets", json=ticket(customer_id, category=AGENT))
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    assert r.json()["assignee_id"] == AGENT
    bad = m.post(f"{m.base}/tickets", json=ticket(customer_id, severity="urgent", extra=1))
    assert bad.status_code == 422
    assert {"severity", "extra"} <= set(bad.json()["fields"])
    card = bank_card(random.Random(83), 19)  # ISO/IEC 7812 Luhn, from the reference
    assert luhn_valid(card)
    sens = m.post(f"{m.base}/tickets", json=ticket(
        customer_id, description=f"卡号 {grouped(card)}"))
    assert sens.status_code == 422 and sens.json()["error"] == "SENSITIVE_DATA"
    assert "description" in sens.json()["fields"]
    assert m.post(f"{m.base}/tickets", data="not json").status_code == 422
    assert m.post(f"{m.base}/tickets", json=ticket(99_999_999)).status_code == 422

    me, other = http(AGENT), http(OTHER)
    assert other.get(f"{m.base}/tickets/{tid}").status_code == 404  # BOLA: not yours
    assert other.post(f"{m.base}/tickets/{tid}/responses",
                      json={"message": "hi"}).status_code == 404
    assert me.get(f"{m.base}/tickets/{tid}").status_code == 200
    assert me.post(f"{m.base}/tickets/{tid}/close").status_code == 409
    assert me.post(f"{m.base}/tickets/{tid}/responses", json={}).status_code == 422
    assert me.post(f"{m.base}/tickets/{tid}/responses",
                   json={"message": "您好"}).status_code == 200
    assert me.post(f"{m.base}/tickets/{tid}/progress",
                   json={"note": "处理中", "notify_customer": False}).status_code == 200
    assert me.post(f"{m.base}/tickets/{tid}/coordination",
                   json={"department": "finance", "note": "请财务开票"}).status_code == 200
    assert me.post(f"{m.base}/tickets/{tid}/resolve",
                   json={"resolution": "已开票", "root_cause": "nope"}).status_code == 422
    assert me.post(f"{m.base}/tickets/{tid}/resolve",
                   json={"resolution": "已开票", "root_cause": "billing"}).status_code == 200
    assert me.post(f"{m.base}/tickets/{tid}/survey", json={"score": 7}).status_code == 422
    assert me.post(f"{m.base}/tickets/{tid}/survey",
                   json={"score": 5, "comment": "很好"}).status_code == 201
    assert me.post(f"{m.base}/tickets/{tid}/survey", json={"score": 4}).status_code == 409
    assert me.get(f"{m.base}/tickets/{tid}/survey").json()["score"] == 5
    assert me.post(f"{m.base}/tickets/{tid}/close").status_code == 200
    reopened = me.post(f"{m.base}/tickets/{tid}/reopen", json={"reason": "又出问题"})
    assert reopened.status_code == 200 and reopened.json()["status"] == "in_progress"
    assert me.post(f"{m.base}/tickets/{tid}/assign", json={"assignee_id": OTHER}) \
        .status_code == 403
    moved = m.post(f"{m.base}/tickets/{tid}/assign", json={"assignee_id": OTHER})
    assert moved.status_code == 200 and moved.json()["assignee_id"] == OTHER
    assert me.get(f"{m.base}/tickets/{tid}").status_code == 404
    listing = other.get(f"{m.base}/tickets", params={"status": "in_progress"}).json()
    assert tid in [t["id"] for t in listing["items"]]
    assert other.get(f"{m.base}/tickets", params={"severity": "x"}).status_code == 422
    assert other.get(f"{m.base}/tickets", params={"page": "x"}).status_code == 422
    assert other.post(f"{m.base}/sla/scan").status_code == 403
    assert m.post(f"{m.base}/sla/scan").status_code == 200
    assert m.get(f"{m.base}/tickets/99999999").status_code == 404


def test_care_over_http(http, manager, customer_id):
    me = http(AGENT)
    r = me.post(f"{me.base}/care-plans", json={"customer_id": customer_id, "kind":
                                                "contract_expiry", "expiry_date": "2027-06-30"})
    assert r.status_code == 201, r.text
    assert r.json()["reminder_date"] == "2027-03-30"
    assert me.post(f"{me.base}/care-plans", json={"customer_id": customer_id,
                                                  "kind": "nope"}).status_code == 422
    assert me.post(f"{me.base}/care-plans", json={"customer_id": customer_id, "kind": "holiday",
                                                  "bogus": 1}).status_code == 422
    assert me.get(f"{me.base}/care-tasks", params={"date": "2027-13-01"}).status_code == 422
    # a GET makes no task (the timer does; a manager may run it for a date)
    assert me.get(f"{me.base}/care-tasks", params={"date": "2027-03-30"}).json()["items"] == []
    assert manager.post(f"{me.base}/care-tasks/generate",
                        params={"date": "2027-03-30"}).status_code == 200
    due = me.get(f"{me.base}/care-tasks", params={"date": "2027-03-30"})
    assert due.status_code == 200
    task = next(t for t in due.json()["items"] if t["customer_id"] == customer_id)
    assert http(OTHER).post(f"{me.base}/care-tasks/{task['id']}/visit", json={
        "channel": "phone", "outcome": "x"}).status_code == 404
    ok = me.post(f"{me.base}/care-tasks/{task['id']}/visit",
                 json={"channel": "visit", "outcome": "上门拜访，确认续约", "satisfaction": 4})
    assert ok.status_code == 200 and ok.json()["status"] == "done"
    assert me.post(f"{me.base}/care-tasks/{task['id']}/visit",
                   json={"channel": "visit", "outcome": "again"}).status_code == 409
    plans = me.get(f"{me.base}/care-plans", params={"customer_id": customer_id}).json()
    assert plans["total"] >= 1


def test_faq_over_http_and_public_search(base, http, manager):
    cat = f"gw-{uuid.uuid4().hex[:6]}"
    me, m = http(AGENT), manager
    r = me.post(f"{base}/faqs", json={"question": "电子发票怎么下载？", "answer":
                                      "在订单详情页点击下载发票。", "category": cat})
    assert r.status_code == 201
    fid = r.json()["id"]
    assert me.post(f"{base}/faqs", json={"question": "?"}).status_code == 422
    assert me.patch(f"{base}/faqs/{fid}", json={}).status_code == 422
    assert me.patch(f"{base}/faqs/{fid}", json={"keywords": "发票 下载"}).status_code == 200
    # agents keep the FAQ (policy 003 §五): they publish as managers do
    assert me.post(f"{base}/faqs/{fid}/publish").status_code == 200
    assert m.post(f"{base}/faqs/{fid}/publish").status_code == 409
    public = requests.get(f"{base}/faq", params={"q": "发票下载", "category": cat})
    assert public.status_code == 200 and public.json()["items"][0]["id"] == fid
    assert requests.get(f"{base}/faq").status_code == 422  # q is required
    assert me.get(f"{base}/faqs/search", params={"q": "下载", "category": cat}) \
        .json()["total"] == 1
    top = me.get(f"{base}/faqs/top", params={"category": cat}).json()
    assert top[0]["id"] == fid and top[0]["hits"] == 2
    assert me.get(f"{base}/faqs/{fid}").json()["hits"] == 2
    assert me.get(f"{base}/faqs/999999999").status_code == 404
    assert me.get(f"{base}/faqs", params={"category": cat}).json()["total"] == 1


def test_at_is_refused_for_staff_but_not_admin(http, manager, customer_id, config):
    from services.common.cli.rpc_client import cluster
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).isoformat()
    with cluster(config, {"id": AGENT, "roles": ["staff"], "department": "service"}) as p:
        from services.common.errors import Forbidden
        with pytest.raises(Forbidden):
            p.service_desk.open_ticket(ticket(customer_id), at=past)
    with cluster(config, {"id": "gw-admin", "roles": ["admin"], "department": "management"}) as p:
        t = p.service_desk.open_ticket(ticket(customer_id), at=past)
    assert t["opened_at"].startswith(past[:16])
