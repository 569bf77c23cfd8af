"""reporting_gateway over HTTP: managers only, validation, JSON = RPC, CSV, OpenAPI,
dashboard with ?token= and cookie."""
import re

import pytest
import requests

from services.common.auth import mint_token
from services.reporting.gateway import ReportingGateway
from services.reporting.service import ReportingService
from tests.integration.test_reporting_events import (
    MANAGER,
    expected_kpis,
    now,
    publish,
    unique_story,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(config, start_service, start_gateway, rpc):
    start_service(ReportingService)
    base = start_gateway(ReportingGateway)
    year, tag, story = unique_story()
    publish(config, story)
    with rpc(MANAGER) as proxy:
        wait_for(proxy, expected_kpis(story, year, tag, now()), year, tag)
    return base, year, tag


def headers(config, role="manager", department="management", user="boss"):
    return {"Authorization": f"Bearer {mint_token(config, user, role, department)}"}


def test_managers_only(config, stack):
    base, year, tag = stack
    url = f"{base}/kpis?period={year}-11"
    assert requests.get(url, timeout=10).status_code == 401
    r = requests.get(url, headers=headers(config, "staff", "sales", "u1"), timeout=10)
    assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN"
    assert requests.get(url, headers=headers(config), timeout=10).status_code == 200
    assert requests.get(url, headers=headers(config, "admin"), timeout=10).status_code == 200
    r = requests.get(f"{base}/dashboard?period={year}-11&token="
                     f"{mint_token(config, 'u1', 'staff', 'sales')}", timeout=10)
    assert r.status_code == 403 and "text/html" in r.headers["Content-Type"]


def test_validation_errors_name_the_field(config, stack):
    base, _, _ = stack
    h = headers(config)
    r = requests.get(f"{base}/kpis?period=2026-13", headers=h, timeout=10)
    assert r.status_code == 422 and "period" in r.json()["fields"]
    r = requests.get(f"{base}/kpis?period=2026&department=finance", headers=h, timeout=10)
    assert r.status_code == 422 and "scope" in r.json()["fields"]
    r = requests.put(f"{base}/scorecard-targets", headers=h, timeout=10,
                     json={"targets": [{"role": "sales", "kpi": "csat_average",
                                        "target": "1", "weight": "1"}]})
    assert r.status_code == 422 and "targets" in r.json()["fields"]


def test_json_endpoints(config, stack, rpc):
    base, year, tag = stack
    h = headers(config)
    scope = {"owner_id": f"{tag}-u1"}
    body = requests.get(f"{base}/kpis?period={year}-11&owner_id={tag}-u1", headers=h,
                        timeout=10).json()
    with rpc(MANAGER) as proxy:
        assert body == proxy.reporting.get_kpis(f"{year}-11", scope)
    assert body["sales_amount"] == "3099.99"
    csv_text = requests.get(f"{base}/kpis.csv?period={year}-11&owner_id={tag}-u1", headers=h,
                            timeout=10).text
    assert "sales_amount,3099.99" in csv_text and csv_text.startswith("kpi,value")
    report = requests.get(f"{base}/campaigns/{tag}-7/report", headers=h, timeout=10).json()
    assert report["roi"] == 2.0
    assert requests.get(f"{base}/campaigns/nope/report", headers=h,
                        timeout=10).status_code == 404
    trend = requests.get(f"{base}/trend?period={year}-12&months=3&owner_id={tag}-u1",
                         headers=h, timeout=10).json()
    assert [t["period"] for t in trend] == [f"{year}-10", f"{year}-11", f"{year}-12"]
    watch = requests.get(f"{base}/churn-watchlist?page_size=5", headers=h, timeout=10).json()
    # the old keys stay (add, never break) next to keyset paging's (issue 20)
    assert set(watch) == {"items", "total", "page", "page_size", "next_cursor", "total_is_estimate"}
    put = requests.put(f"{base}/scorecard-targets", headers=h, timeout=10, json={
        "employee_id": f"{tag}-u1",
        "targets": [{"role": "sales", "kpi": "sales_amount", "target": "100", "weight": "1"}]})
    assert put.status_code == 200
    card = requests.get(f"{base}/scorecards/{tag}-u1?period={year}-11", headers=h,
                        timeout=10).json()
    item = {i["kpi"]: i for i in card["items"]}["sales_amount"]
    assert item["target"] == 100.0 and item["achievement"] == 1.5
    assert card["role"] == "sales" and card["score"] is not None
    fresh = requests.get(f"{base}/freshness", headers=h, timeout=10).json()
    assert fresh["events_applied"] > 0 and fresh["lag_p50_seconds"] is not None
    spec = requests.get(f"{base}/openapi.json", timeout=10).json()
    assert {"/kpis", "/dashboard", "/scorecards/{employee_id}", "/churn-watchlist",
            "/campaigns/{campaign_id}/report", "/scorecard-targets"} <= set(spec["paths"])


def test_dashboard_token_cookie_and_language(config, stack):
    base, year, _ = stack
    token = mint_token(config, "boss", "manager", "management")
    s = requests.Session()
    r = s.get(f"{base}/dashboard?period={year}-11&token={token}", timeout=20)
    assert r.status_code == 200 and "经营看板" in r.text and "<svg" in r.text
    assert "<script" not in r.text and "https://" not in r.text  # offline, no CDN
    assert not re.search(r"(src|href)=\"(https?:)?//", r.text)
    assert s.cookies.get("crm_token") == token
    r = s.get(f"{base}/dashboard?period={year}-Q4&lang=en", timeout=20)  # cookie only
    assert r.status_code == 200 and "Management dashboard" in r.text
    assert requests.get(f"{base}/dashboard", timeout=10).status_code == 401
    r = requests.get(f"{base}/?period={year}-11", allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"].startswith("/dashboard?period=")
