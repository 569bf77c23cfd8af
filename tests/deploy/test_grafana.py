"""deploy/grafana: dashboard JSON structure, queries, provisioning."""
import json
import re
import sys

import pytest
import yaml

from tests.deploy.helpers import DEPLOY, require_tool, run

GRAFANA = DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "kehu-crm.json"


@pytest.fixture(scope="module")
def dash():
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels(dash):
    out = []
    for p in dash["panels"]:
        out.append(p)
        out.extend(p.get("panels", ()))
    return out


def test_dashboard_is_generated_and_fresh():
    result = run([sys.executable, str(GRAFANA / "build_dashboard.py"), "--check"])
    assert result.returncode == 0, "run python deploy/grafana/build_dashboard.py"


def test_dashboard_top_level_schema(dash):
    for key, kind in (("uid", str), ("title", str), ("schemaVersion", int),
                      ("panels", list), ("templating", dict), ("time", dict)):
        assert isinstance(dash.get(key), kind), key
    assert dash["schemaVersion"] >= 36
    assert "id" not in dash or dash["id"] is None, "provisioned dashboards carry no id"
    names = [v["name"] for v in dash["templating"]["list"]]
    assert "datasource" in names
    (ds,) = [v for v in dash["templating"]["list"] if v["name"] == "datasource"]
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"


def test_panels_have_unique_ids_datasource_targets_and_fit_the_grid(dash):
    ps = panels(dash)
    ids = [p["id"] for p in ps]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    cells = set()
    for p in ps:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps another panel"
                cells.add((x, y))
        if p["type"] == "row":
            continue
        assert p["type"] in ("timeseries", "stat", "gauge", "table", "bargauge"), p["type"]
        assert p["datasource"]["type"] == "prometheus"
        assert p["datasource"]["uid"] in ("${datasource}", "prometheus")
        assert p["targets"], p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
        for t in p["targets"]:
            assert t["expr"].strip() and t["datasource"] == p["datasource"]


def test_dashboard_covers_red_events_and_business_metrics(dash):
    exprs = "\n".join(t["expr"] for p in panels(dash) for t in p.get("targets", ()))
    for metric in ("crm_entrypoint_calls_total", "crm_entrypoint_duration_seconds_bucket",
                   "crm_http_requests_total", "crm_http_request_duration_seconds_bucket",
                   "crm_outbox_backlog", "crm_outbox_oldest_age_seconds",
                   "crm_event_lag_seconds_bucket", "crm_dlq_depth",
                   "crm_events_dead_lettered_total", "crm_events_duplicate_total",
                   "crm_tickets_open", "crm_sla_breaches_total", "crm_leads_created_total"):
        assert metric in exprs, metric
    assert re.search(r"sum by \(severity\) \(crm_tickets_open\)", exprs)


def test_dashboard_queries_parse_as_promql(dash, tmp_path):
    """Every panel query is valid PromQL (checked by promtool as recording rules)."""
    promtool = require_tool("promtool", "apt-get install -y --no-install-recommends prometheus")
    rules = []
    for p in panels(dash):
        for t in p.get("targets", ()):
            expr = (t["expr"].replace("$__rate_interval", "5m")
                    .replace("$service", ".*").replace("$gateway", ".*"))
            rules.append({"record": f"dashboard:panel_{p['id']}_{t['refId']}", "expr": expr})
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run([promtool, "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_provisioning_files():
    ds = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (prom,) = ds["datasources"]
    assert prom["type"] == "prometheus" and prom["url"].startswith("http://prometheus:9090")
    prov = yaml.safe_load((GRAFANA / "provisioning/dashboards/kehu-crm.yml").read_text())
    (provider,) = prov["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
