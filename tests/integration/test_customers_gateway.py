"""customers_gateway over HTTP: auth, error mapping, limits, OpenAPI."""
import base64
import datetime as dt

import jwt
import pytest
import requests
from openapi_spec_validator import validate

from services.common.auth import mint_token
from services.customers.gateway import CustomersGateway
from services.customers.service import CustomersService
from tests.support import data

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base(module_services, config):
    from tests.support.fixtures import free_port
    port = free_port()
    module_services(CustomersService)
    module_services(CustomersGateway, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def staff(config):
    return {"Authorization": f"Bearer {mint_token(config, 'gw-u1', 'staff', 'sales')}"}


def _claims(**over):
    now = dt.datetime.now(dt.timezone.utc)
    c = {"sub": "gw-u1", "roles": ["staff"], "iat": now, "exp": now + dt.timedelta(hours=1),
         "iss": "kehu-crm", "aud": "kehu-crm"}
    c.update(over)
    return c


def bad_tokens(config):
    key = config["JWT"]["key"]
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    return {
        "missing": None,
        "garbage": "Bearer not.a.jwt",
        "expired": "Bearer " + jwt.encode(_claims(iat=past, exp=past + dt.timedelta(minutes=5)),
                                          key, algorithm="HS256"),
        "alg_none": "Bearer " + jwt.encode(_claims(), None, algorithm="none"),
        "wrong_key": "Bearer " + jwt.encode(_claims(), "x" * 40, algorithm="HS256"),
        "wrong_audience": "Bearer " + jwt.encode(_claims(aud="other"), key, algorithm="HS256"),
        "basic_scheme": "Basic dXNlcjpwYXNz",
    }


@pytest.mark.parametrize("kind", ["missing", "garbage", "expired", "alg_none", "wrong_key",
                                  "wrong_audience", "basic_scheme"])
def test_401_for_bad_tokens(base, config, kind):
    token = bad_tokens(config)[kind]
    headers = {"Authorization": token} if token else {}
    r = requests.get(f"{base}/customers", headers=headers, timeout=10)
    assert r.status_code == 401
    assert r.json()["error"] == "UNAUTHORIZED"


def test_create_then_404_409_422(base, staff, config):
    d = data.customer()
    r = requests.post(f"{base}/customers", json=d, headers=staff, timeout=10)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = requests.post(f"{base}/customers", json=dict(data.customer(), uscc=d["uscc"]),
                      headers=staff, timeout=10)
    assert r.status_code == 409 and r.json()["error"] == "DUPLICATE_USCC"
    r = requests.post(f"{base}/customers", json=dict(d, uscc="bad", contacts=[]), headers=staff,
                      timeout=10)
    body = r.json()
    assert r.status_code == 422 and {"uscc", "contacts"} <= set(body["fields"])
    r = requests.post(f"{base}/customers", data="{not json", headers=staff, timeout=10)
    assert r.status_code == 422 and r.json()["fields"] == {"_body": ["invalid JSON"]}
    other = {"Authorization": f"Bearer {mint_token(config, 'gw-u2')}"}
    assert requests.get(f"{base}/customers/{cid}", headers=other, timeout=10).status_code == 404
    assert requests.get(f"{base}/customers/99999999", headers=staff, timeout=10).status_code == 404
    r = requests.patch(f"{base}/customers/{cid}", json={"region": "北京", "version": 7},
                       headers=staff, timeout=10)
    assert r.status_code == 409 and r.json()["error"] == "STALE_VERSION"


def test_sensitive_data_is_a_422_naming_the_field(base, staff):
    from tests.support.standards import resident_id
    r = requests.post(f"{base}/customers",
                      json=data.customer(needs=f"身份证{resident_id()}"),
                      headers=staff, timeout=10)
    assert r.status_code == 422
    assert r.json()["error"] == "SENSITIVE_DATA" and "needs" in r.json()["fields"]


def test_413_for_large_bodies_and_attachments(base, staff):
    cid = requests.post(f"{base}/customers", json=data.customer(), headers=staff,
                        timeout=10).json()["id"]
    r = requests.post(f"{base}/customers", data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                      headers=staff, timeout=10)
    assert r.status_code == 413
    big = base64.b64encode(b"%PDF-" + b"0" * (5 * 1024 * 1024 + 1)).decode()
    r = requests.post(f"{base}/customers/{cid}/attachments",
                      json={"filename": "big.pdf", "content_b64": big}, headers=staff, timeout=20)
    assert r.status_code == 413
    r = requests.post(f"{base}/customers/{cid}/attachments", headers=staff, timeout=10,
                      files={"file": ("scan.jpg", b"\xff\xd8\xff\xe0JFIF", "image/jpeg")})
    assert r.status_code == 201 and r.json()["content_type"] == "image/jpeg"
    r = requests.post(f"{base}/customers/{cid}/attachments", headers=staff, timeout=10,
                      files={"file": ("x.exe", b"MZ\x90\x00", "application/octet-stream")})
    assert r.status_code == 422


def test_list_tags_and_page_cap(base, staff):
    cid = requests.post(f"{base}/customers", json=data.customer(), headers=staff,
                        timeout=10).json()["id"]
    r = requests.post(f"{base}/customers/{cid}/tags", json={"tags": ["gw标签"]}, headers=staff,
                      timeout=10)
    assert r.status_code == 200 and "gw标签" in r.json()["tags"]
    r = requests.get(f"{base}/customers?tags_all=gw标签&page_size=5", headers=staff, timeout=10)
    assert [c["id"] for c in r.json()["items"]] == [cid]
    assert requests.get(f"{base}/customers?page_size=500", headers=staff,
                        timeout=10).status_code == 422
    assert requests.get(f"{base}/customers?page=x", headers=staff, timeout=10).status_code == 422


def test_openapi_health_metrics(base, staff):
    spec = requests.get(f"{base}/openapi.json", timeout=10).json()
    validate(spec)
    assert "/customers/{customer_id}" in spec["paths"]
    assert "CustomerIn" in spec["components"]["schemas"]
    assert requests.get(f"{base}/health", timeout=10).json()["broker"] == "up"
    requests.get(f"{base}/customers", headers=staff, timeout=10)
    metrics = requests.get(f"{base}/metrics", timeout=10).text
    assert 'crm_http_requests_total{method="GET",route="/customers",service="customers_gateway"' \
        in metrics


def test_unknown_route_has_no_stack_trace(base, staff):
    r = requests.get(f"{base}/customers/abc", headers=staff, timeout=10)
    assert r.status_code == 404 and "Traceback" not in r.text


# --- values no column can hold (found by fuzzing every gateway with schemathesis) ------
def test_ids_longer_than_bigint_are_404_not_500(base, staff):
    for url in ("/customers/18446744073709551616", "/customers/9223372036854775808/history"):
        r = requests.get(base + url, headers=staff, timeout=10)
        assert r.status_code == 404 and r.json()["error"] == "NOT_FOUND", (url, r.text)
    r = requests.post(f"{base}/customers/20450621950277242060800/tags/remove",
                      json={"tags": ["x"]}, headers=staff, timeout=10)
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/json"
    # the same path has GET and PATCH rules: whichever werkzeug tries first, a too-long
    # id is a 404 for both methods (werkzeug checks methods before converters)
    r = requests.patch(f"{base}/customers/9223372036854775808", json={"needs": "x"},
                       headers=staff, timeout=10)
    assert r.status_code == 404 and r.json()["error"] == "NOT_FOUND", r.text
    r = requests.get(f"{base}/customers/9223372036854775807", headers=staff, timeout=10)
    assert r.status_code == 404 and r.json()["error"] == "NOT_FOUND", r.text


def test_unknown_routes_and_methods_answer_json(base, staff):
    r = requests.get(f"{base}/no-such-thing", headers=staff, timeout=10)
    assert r.status_code == 404 and r.json() == {"error": "NOT_FOUND", "message": "not found",
                                                 "fields": {}}
    r = requests.delete(f"{base}/customers", headers=staff, timeout=10)
    assert r.status_code == 405 and r.json()["error"] == "METHOD_NOT_ALLOWED"
    assert {"GET", "POST"} <= {m.strip() for m in r.headers["Allow"].split(",")}


@pytest.mark.parametrize("body, field", [
    ('{"name": "x", "budget": 1e999}', "budget"),                      # Infinity
    ('{"name": "x", "registered_capital": NaN}', "registered_capital"),
    ('{"name": "\\udb7f bad"}', "name"),                                # a lone surrogate
    ('{"name": "x", "contacts": [{"name": "\\ud800"}]}', "contacts.0.name"),
    ('{"name": "x", "employees": 16033839506098882560}', "employees"),  # > BIGINT
])
def test_unstorable_values_in_a_body_are_422_field_by_field(base, staff, body, field):
    before = requests.get(f"{base}/customers?page_size=1", headers=staff, timeout=10).json()
    r = requests.post(f"{base}/customers", data=body.encode(), timeout=10,
                      headers=dict(staff, **{"Content-Type": "application/json"}))
    assert r.status_code == 422, r.text
    assert field in r.json()["fields"], r.json()
    after = requests.get(f"{base}/customers?page_size=1", headers=staff, timeout=10).json()
    assert after["total"] == before["total"]  # nothing written


def test_out_of_range_query_numbers_are_422(base, staff):
    for q in ("page=2432902008176640001", "page_size=100&page=9223372036854775807"):
        r = requests.get(f"{base}/customers?{q}", headers=staff, timeout=10)
        assert r.status_code == 422 and "page" in r.json()["fields"], (q, r.text)


def test_list_responses_are_documented_as_arrays(base):
    spec = requests.get(f"{base}/openapi.json", timeout=10).json()
    history = spec["paths"]["/customers/{customer_id}/history"]["get"]["responses"]["200"]
    schema = history["content"]["application/json"]["schema"]
    assert schema["type"] == "array" and schema["items"]["$ref"].endswith("/HistoryOut")
    params = {p["name"]: p["schema"] for p in spec["paths"]["/customers"]["get"]["parameters"]}
    assert params["page_size"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert "403" in spec["paths"]["/customers"]["get"]["responses"]
