"""sales_gateway over HTTP: JWT, 4xx mapping, the whole flow, OpenAPI."""
import datetime as dt
import uuid

import pytest
import requests

from services.common.auth import mint_token
from services.common.cli.demo import demo_customers
from services.customers.service import CustomersService
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from tests.support.standards import RIC_SAMPLE

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(SalesGateway, CustomersService, SalesService)


@pytest.fixture(scope="module")
def who(config):
    def headers(user, role="staff"):
        return {"Authorization": f"Bearer {mint_token(config, user, role, 'sales')}"}
    return headers


def test_auth_errors_and_openapi(base, who):
    assert requests.get(f"{base}/leads", timeout=10).status_code == 401
    bad = requests.get(f"{base}/leads", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert bad.status_code == 401 and bad.json()["error"] == "UNAUTHORIZED"
    spec = requests.get(f"{base}/openapi.json", timeout=10).json()
    for path in ("/leads", "/leads/{lead_id}/convert", "/assignment-rules", "/opportunities",
                 "/opportunities/{opportunity_id}/stage", "/follow-ups", "/orders",
                 "/orders/{order_id}/payments", "/forecast"):
        assert path in spec["paths"], path
    assert "LeadIn" in spec["components"]["schemas"]
    assert requests.get(f"{base}/health", timeout=10).json()["status"] == "ok"


def test_full_flow_over_http(base, who, config):
    me, other = f"g-{uuid.uuid4().hex[:6]}", f"g-{uuid.uuid4().hex[:6]}"
    h, ho, hm = who(me), who(other), who("g-mgr", "manager")
    customer_data = next(demo_customers(1, [me], seed=uuid.uuid4().int % 10**9))
    # customers is another department's gateway; sales uses its RPC: create through RPC
    from services.common.cli.rpc_client import cluster
    with cluster(config, {"id": me, "roles": ["staff"], "department": "sales"}) as rpc:
        customer = rpc.customers.create_customer(customer_data)

    r = requests.post(f"{base}/leads", json={"source": "fax"}, headers=h, timeout=10)
    assert r.status_code == 422 and "source" in r.json()["fields"]
    r = requests.post(f"{base}/leads", data="{not json", headers=h, timeout=10)
    assert r.status_code == 422
    r = requests.post(f"{base}/leads", json={"source": "website", "customer_name": "网关客户",
                                             "need": f"身份证 {RIC_SAMPLE}"},
                      headers=h, timeout=10)
    assert r.status_code == 422 and r.json()["error"] == "SENSITIVE_DATA"
    assert requests.get(f"{base}/leads", headers=h, timeout=10).json()["total"] == 0

    lead = requests.post(f"{base}/leads", json={"source": "website", "customer_id": customer["id"]},
                         headers=h, timeout=10)
    assert lead.status_code == 201
    lead = lead.json()
    assert requests.get(f"{base}/leads/{lead['id']}", headers=ho, timeout=10).status_code == 404
    assert requests.get(f"{base}/leads/999999999", headers=h, timeout=10).status_code == 404
    assert requests.get(f"{base}/leads/{lead['id']}", headers=hm, timeout=10).status_code == 200
    r = requests.post(f"{base}/leads/{lead['id']}/assign", json={"owner_id": other},
                      headers=h, timeout=10)
    assert r.status_code == 403
    r = requests.put(f"{base}/assignment-rules", json={"rules": [{"kind": "teleport"}]},
                     headers=hm, timeout=10)
    assert r.status_code == 422

    conv = requests.post(f"{base}/leads/{lead['id']}/convert",
                         json={"amount": "80000.00", "expected_close_date": "2026-12-01"},
                         headers=h, timeout=10)
    assert conv.status_code == 201, conv.text
    opp = conv.json()["opportunity"]
    assert opp["customer_id"] == customer["id"]
    r = requests.post(f"{base}/opportunities/{opp['id']}/stage", json={"stage": "negotiate"},
                      headers=h, timeout=10)
    assert r.status_code == 409 and r.json()["error"] == "ILLEGAL_TRANSITION"
    r = requests.post(f"{base}/opportunities/{opp['id']}/stage", json={"stage": "propose"},
                      headers=h, timeout=10)
    assert r.status_code == 200 and r.json()["probability"] == 0.6
    due = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    fu = requests.post(f"{base}/opportunities/{opp['id']}/follow-ups",
                       json={"due_at": due, "note": "电话回访"}, headers=h, timeout=10)
    assert fu.status_code == 201
    r = requests.post(f"{base}/follow-ups/{fu.json()['id']}/complete", json={"outcome": "ok"},
                      headers=h, timeout=10)
    assert r.status_code == 200 and r.json()["on_time"] is True
    r = requests.get(f"{base}/follow-ups?overdue=maybe", headers=h, timeout=10)
    assert r.status_code == 422
    assert requests.get(f"{base}/follow-ups?overdue=true", headers=h,
                        timeout=10).json()["total"] == 0
    r = requests.post(f"{base}/opportunities/{opp['id']}/activities",
                      json={"channel": "visit", "summary": "上门拜访"}, headers=h, timeout=10)
    assert r.status_code == 201
    acts = requests.get(f"{base}/opportunities/{opp['id']}/activities", headers=h, timeout=10)
    assert acts.json()["total"] == 1

    order = requests.post(f"{base}/orders", json={
        "customer_id": customer["id"], "opportunity_id": opp["id"], "delivery_date": "2026-12-20",
        "lines": [{"product": "设备", "quantity": "3", "unit_price": "100.10"}]},
        headers=h, timeout=10)
    assert order.status_code == 201 and order.json()["amount"] == "300.30"
    oid = order.json()["id"]
    r = requests.post(f"{base}/orders/{oid}/payments", json={"amount": "300.31"}, headers=h,
                      timeout=10)
    assert r.status_code == 422 and "amount" in r.json()["fields"]
    r = requests.post(f"{base}/orders/{oid}/payments", json={"amount": "100.00"}, headers=h,
                      timeout=10)
    assert r.status_code == 201 and r.json()["status"] == "partially_paid"
    assert requests.post(f"{base}/orders/{oid}/payments", json={"amount": "1.00"}, headers=ho,
                         timeout=10).status_code == 404
    r = requests.patch(f"{base}/orders/{oid}", json={"delivery_date": "2027-01-05"}, headers=h,
                       timeout=10)
    assert r.status_code == 200 and r.json()["changes"][0]["after"] == {
        "delivery_date": "2027-01-05"}
    r = requests.post(f"{base}/orders/{oid}/ship", headers=h, timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "shipped"
    r = requests.post(f"{base}/orders/{oid}/cancel", json={"reason": "x"}, headers=h, timeout=10)
    assert r.status_code == 409
    assert requests.get(f"{base}/orders?status=shipped", headers=h,
                        timeout=10).json()["total"] == 1
    assert requests.get(f"{base}/orders", headers=ho, timeout=10).json()["total"] == 0

    f = requests.get(f"{base}/forecast?period=2026-12", headers=h, timeout=10)
    assert f.status_code == 200 and f.json()["weighted_amount"] == "48000.00"
    assert requests.get(f"{base}/forecast?period=Q4", headers=h, timeout=10).status_code == 422
    r = requests.post(f"{base}/opportunities/{opp['id']}/lose", json={}, headers=h, timeout=10)
    assert r.status_code == 422 and "reason" in r.json()["fields"]
