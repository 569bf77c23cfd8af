"""marketing_gateway over HTTP: JWT, the whole campaign flow, 401/403/404/409/422, OpenAPI."""
import pytest
import requests

from services.common.auth import mint_token
from services.customers.service import CustomersService
from services.marketing.gateway import MarketingGateway
from services.marketing.service import MarketingService
from tests.integration.test_marketing_support import contact, plan, tag

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(MarketingGateway, CustomersService, MarketingService)


def _auth(config, user, role="staff", department="marketing"):
    return {"Authorization": f"Bearer {mint_token(config, user, role, department)}"}


@pytest.fixture(scope="module")
def owner(config):
    return _auth(config, "gw-mk1")


@pytest.fixture(scope="module")
def colleague(config):
    return _auth(config, "gw-mk2")


@pytest.fixture(scope="module")
def seller(config):
    return _auth(config, "gw-s1", department="sales")


def test_openapi_is_valid_and_lists_every_route(base):
    from openapi_spec_validator import validate
    spec = requests.get(f"{base}/openapi.json", timeout=5).json()
    validate(spec)
    paths = spec["paths"]
    for path in ("/campaigns", "/campaigns/{campaign_id}", "/campaigns/{campaign_id}/launch",
                 "/campaigns/{campaign_id}/participants/{participant_id}/lead",
                 "/campaigns/{campaign_id}/evaluation", "/campaigns/{campaign_id}/outreach"):
        assert path in paths, path
    assert paths["/campaigns"]["post"]["security"] == [{"bearer": []}]
    assert "Campaign" in spec["components"]["schemas"] or \
        "CampaignIn" in spec["components"]["schemas"]


def test_401_without_or_with_a_bad_token(base, config):
    assert requests.get(f"{base}/campaigns", timeout=5).status_code == 401
    r = requests.get(f"{base}/campaigns", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert r.status_code == 401 and r.json()["error"] == "UNAUTHORIZED"
    assert requests.post(f"{base}/campaigns", json=plan(), timeout=5).status_code == 401


def test_full_flow_over_http(base, owner, colleague, seller):
    s = requests.Session()
    r = s.post(f"{base}/campaigns", json=plan(format="online",
                                              audience={"tags_all": [tag()]}),
               headers=owner, timeout=10)
    assert r.status_code == 201, r.text
    c = r.json()
    url = f"{base}/campaigns/{c['id']}"
    assert s.get(url, headers=colleague, timeout=5).json()["id"] == c["id"]
    assert s.get(url, headers=seller, timeout=5).status_code == 404
    assert s.post(f"{url}/schedule", headers=colleague, timeout=5).status_code == 403
    r = s.post(f"{url}/launch", headers=owner, timeout=5)
    assert r.status_code == 409 and r.json()["error"] == "ILLEGAL_TRANSITION"
    assert s.post(f"{url}/schedule", headers=owner, timeout=5).json()["state"] == "scheduled"
    r = s.post(f"{url}/launch", headers=owner, timeout=10)
    assert r.status_code == 200 and r.json()["audience_size"] == 0
    assert s.get(f"{url}/audience", headers=owner, timeout=5).json()["total"] == 0
    r = s.post(f"{url}/participants", json={"contact": contact()}, headers=owner, timeout=5)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    purl = f"{url}/participants/{pid}"
    assert s.post(f"{purl}/check-in", headers=owner, timeout=5).json()["attended"] is True
    assert s.post(f"{purl}/check-in", headers=owner, timeout=5).status_code == 409
    r = s.post(f"{purl}/feedback", json={"score": 4, "comment": "不错"}, headers=owner,
               timeout=5)
    assert r.status_code == 201 and r.json()["feedback"][0]["score"] == 4
    assert s.post(f"{purl}/lead", headers=owner, timeout=5).status_code == 201
    r = s.post(f"{purl}/lead", json={}, headers=owner, timeout=5)
    assert r.status_code == 409 and r.json()["error"] == "LEAD_ALREADY_GENERATED"
    r = s.post(f"{url}/templates", json={"channel": "sms", "body": "$name 您好 $coupon_code"},
               headers=owner, timeout=5)
    assert r.status_code == 201
    r = s.post(f"{url}/outreach", json={"channel": "sms"}, headers=owner, timeout=10)
    assert r.status_code == 200 and r.json()["sent"] == 1
    assert s.get(f"{url}/outreach", headers=colleague, timeout=5).json()["total"] == 1
    assert len(s.get(f"{url}/templates", headers=owner, timeout=5).json()) == 1
    assert s.get(f"{url}/participants", headers=owner, timeout=5).json()["total"] == 1
    assert s.get(purl, headers=owner, timeout=5).json()["lead_generated"] is True
    ev = s.get(f"{url}/evaluation", headers=colleague, timeout=5).json()
    assert (ev["participants"], ev["attended"], ev["leads_generated"]) == (1, 1, 1)
    assert ev["attendance_rate"] == 1.0 and ev["cost"] == "40000.00"
    r = s.patch(url, json={"cost": "45000"}, headers=owner, timeout=5)
    assert r.status_code == 200 and r.json()["cost"] == "45000.00"
    m = s.post(f"{url}/milestones", json={"title": "复盘", "owner_id": "gw-mk1",
                                          "due_date": "2099-01-01"}, headers=owner, timeout=5)
    assert m.status_code == 201
    r = s.post(f"{url}/milestones/{m.json()['id']}/complete", headers=owner, timeout=5)
    assert r.json()["status"] == "done"
    assert s.post(f"{url}/complete", headers=owner, timeout=5).json()["state"] == "completed"
    r = s.post(f"{url}/cancel", json={"reason": "x"}, headers=owner, timeout=5)
    assert r.status_code == 409
    listed = s.get(f"{base}/campaigns?state=completed&page_size=100", headers=owner,
                   timeout=5).json()
    assert c["id"] in [x["id"] for x in listed["items"]]


def test_422_on_bad_input_everywhere(base, owner):
    s = requests.Session()
    c = s.post(f"{base}/campaigns", json=plan(format="online"), headers=owner,
               timeout=5).json()
    url = f"{base}/campaigns/{c['id']}"
    cases = [
        ("post", f"{base}/campaigns", {"theme": "x"}),
        ("post", f"{base}/campaigns", "not json"),
        ("post", f"{base}/campaigns", [1, 2]),
        ("patch", url, {}),
        ("patch", url, {"format": "tv"}),
        ("post", f"{url}/cancel", {}),
        ("post", f"{url}/milestones", {"title": "x", "due_date": "tomorrow"}),
        ("post", f"{url}/templates", {"channel": "sms", "body": "hi $phone"}),
        ("post", f"{url}/outreach", {"channel": "pigeon"}),
        ("post", f"{url}/participants", {"contact": {"name": "x"}}),
    ]
    for method, target, body in cases:
        kwargs = {"data": body} if isinstance(body, str) else {"json": body}
        r = getattr(s, method)(target, headers=owner, timeout=5, **kwargs)
        assert r.status_code == 422, (method, target, body, r.status_code, r.text)
        assert r.json()["error"] == "VALIDATION_ERROR" and r.json()["fields"]
    r = s.get(f"{base}/campaigns?page_size=500", headers=owner, timeout=5)
    assert r.status_code == 422
    r = s.get(f"{base}/campaigns?page=abc", headers=owner, timeout=5)
    assert r.status_code == 422
    assert s.get(f"{base}/campaigns/999999999", headers=owner, timeout=5).status_code == 404
    r = s.post(f"{url}/participants/999999999/feedback", json={"score": 5}, headers=owner,
               timeout=5)
    assert r.status_code == 404
