#!/usr/bin/env python
# ruff: noqa: E501  (PromQL and YAML strings read better on one line)
"""Build deploy/grafana/dashboards/kehu-crm.json (the committed dashboard).

    python deploy/grafana/build_dashboard.py          # rewrite
    python deploy/grafana/build_dashboard.py --check  # exit 1 if stale

Standard library only. Metric names are the kit's (services/common/metrics.py)
and the departments' business metrics (crm_tickets_open, crm_sla_breaches_total,
crm_leads_created_total).
"""
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "dashboards" / "kehu-crm.json"
DS = {"type": "prometheus", "uid": "${datasource}"}
SVC = 'service=~"$service"'
GW = 'service=~"$gateway"'


class Layout:
    def __init__(self):
        self.panels, self.y, self.x, self.next_id = [], 0, 0, 1
        self.row_h = 0

    def row(self, title):
        if self.x:
            self.y += self.row_h
            self.x = 0
        self.panels.append({"id": self._id(), "type": "row", "title": title, "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.y += 1
        self.row_h = 0

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def add(self, kind, title, targets, w=8, h=8, unit="short", description="", **extra):
        if self.x + w > 24:
            self.y += self.row_h
            self.x, self.row_h = 0, 0
        refs = "ABCDEFGH"
        panel = {
            "id": self._id(), "type": kind, "title": title, "description": description,
            "datasource": DS,
            "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y},
            "targets": [{"refId": refs[i], "datasource": DS, "expr": expr,
                         "legendFormat": legend, "range": True}
                        for i, (expr, legend) in enumerate(targets)],
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "bottom",
                                   "calcs": ["lastNotNull", "max"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}},
        }
        if kind == "stat":
            panel["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                                  "values": False},
                                "colorMode": "background", "graphMode": "area",
                                "textMode": "auto"}
        panel.update(extra)
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)


def thresholds(*steps):
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for v, c in steps]}


def build():
    L = Layout()
    L.row("Overview")
    L.add("stat", "Targets up", [('sum(up{job=~"crm-.*"})', "up")], w=4, h=4,
          description="Scraped services and gateways answering.")
    L.add("stat", "Targets down", [('count(up{job=~"crm-.*"} == 0) or vector(0)', "down")],
          w=4, h=4, fieldConfig={"defaults": {"unit": "short", "thresholds": thresholds(
              (None, "green"), (1, "red"))}, "overrides": []})
    L.add("stat", "Dead-lettered events waiting", [("sum(crm_dlq_depth) or vector(0)", "dlq")],
          w=4, h=4, fieldConfig={"defaults": {"unit": "short", "thresholds": thresholds(
              (None, "green"), (1, "orange"))}, "overrides": []})
    L.add("stat", "Outbox backlog", [("sum(crm_outbox_backlog) or vector(0)", "rows")], w=4, h=4)
    L.add("stat", "Open tickets", [("sum(crm_tickets_open)", "open")], w=4, h=4)
    L.add("stat", "New leads (24 h)", [("sum(increase(crm_leads_created_total[24h]))", "leads")],
          w=4, h=4)

    L.row("Domain services - RPC (RED)")
    L.add("timeseries", "RPC rate by service",
          [(f'sum by (service) (rate(crm_entrypoint_calls_total{{kind="rpc", {SVC}}}[$__rate_interval]))',
            "{{service}}")], unit="reqps")
    L.add("timeseries", "RPC unexpected error ratio by service",
          [(f'sum by (service) (rate(crm_entrypoint_calls_total{{kind="rpc", outcome="error", {SVC}}}[$__rate_interval]))'
            f' / sum by (service) (rate(crm_entrypoint_calls_total{{kind="rpc", {SVC}}}[$__rate_interval]))',
            "{{service}} error"),
           (f'sum by (service) (rate(crm_entrypoint_calls_total{{kind="rpc", outcome="expected_error", {SVC}}}[$__rate_interval]))'
            f' / sum by (service) (rate(crm_entrypoint_calls_total{{kind="rpc", {SVC}}}[$__rate_interval]))',
            "{{service}} declared")], unit="percentunit",
          description="error = unexpected exceptions (alerting); declared = ValidationError, NotFound, ... (business answers).")
    L.add("timeseries", "RPC latency p50 / p99 by service",
          [(f'histogram_quantile(0.99, sum by (service, le) (rate(crm_entrypoint_duration_seconds_bucket{{kind="rpc", {SVC}}}[$__rate_interval])))',
            "{{service}} p99"),
           (f'histogram_quantile(0.5, sum by (service, le) (rate(crm_entrypoint_duration_seconds_bucket{{kind="rpc", {SVC}}}[$__rate_interval])))',
            "{{service}} p50")], unit="s")
    L.add("timeseries", "Slowest RPC methods (p99)",
          [(f'topk(10, histogram_quantile(0.99, sum by (service, method, le) (rate(crm_entrypoint_duration_seconds_bucket{{kind="rpc", {SVC}}}[$__rate_interval]))))',
            "{{service}}.{{method}}")], w=12, unit="s")
    L.add("timeseries", "Event handler and timer outcomes",
          [(f'sum by (service, kind, outcome) (rate(crm_entrypoint_calls_total{{kind=~"event|timer", {SVC}}}[$__rate_interval]))',
            "{{service}} {{kind}} {{outcome}}")], w=12, unit="ops")

    L.row("Gateways - HTTP (RED)")
    L.add("timeseries", "HTTP requests by gateway",
          [(f'sum by (service) (rate(crm_http_requests_total{{{GW}}}[$__rate_interval]))',
            "{{service}}")], unit="reqps")
    L.add("timeseries", "HTTP 5xx ratio by gateway",
          [(f'sum by (service) (rate(crm_http_requests_total{{status=~"5..", {GW}}}[$__rate_interval]))'
            f' / sum by (service) (rate(crm_http_requests_total{{{GW}}}[$__rate_interval]))',
            "{{service}} 5xx"),
           (f'sum by (service) (rate(crm_http_requests_total{{status=~"4..", {GW}}}[$__rate_interval]))'
            f' / sum by (service) (rate(crm_http_requests_total{{{GW}}}[$__rate_interval]))',
            "{{service}} 4xx")], unit="percentunit")
    L.add("timeseries", "HTTP latency p50 / p99 by gateway",
          [(f'histogram_quantile(0.99, sum by (service, le) (rate(crm_http_request_duration_seconds_bucket{{{GW}}}[$__rate_interval])))',
            "{{service}} p99"),
           (f'histogram_quantile(0.5, sum by (service, le) (rate(crm_http_request_duration_seconds_bucket{{{GW}}}[$__rate_interval])))',
            "{{service}} p50")], unit="s")

    L.row("Events - outbox, lag, dead letters")
    L.add("timeseries", "Outbox backlog (unpublished rows)",
          [(f"sum by (service) (crm_outbox_backlog{{{SVC}}})", "{{service}}")])
    L.add("timeseries", "Outbox oldest unpublished age",
          [(f"max by (service) (crm_outbox_oldest_age_seconds{{{SVC}}})", "{{service}}")],
          unit="s", description="Alert CrmOutboxBacklogStale above 60 s.")
    L.add("timeseries", "Event lag p99 (apply time - occurred_at)",
          [(f"histogram_quantile(0.99, sum by (service, le) (rate(crm_event_lag_seconds_bucket{{{SVC}}}[$__rate_interval])))",
            "{{service}} p99"),
           (f"histogram_quantile(0.5, sum by (service, le) (rate(crm_event_lag_seconds_bucket{{{SVC}}}[$__rate_interval])))",
            "{{service}} p50")], unit="s", description="Alert CrmEventLagHigh above 5 s.")
    L.add("timeseries", "DLQ depth by queue",
          [(f"max by (service, queue) (crm_dlq_depth{{{SVC}}}) > 0", "{{queue}}")], w=12,
          description="Alert CrmDeadLetterQueueNotEmpty. Replay: crm dlq replay <queue>.")
    L.add("timeseries", "Dead-lettered, retried, duplicate events",
          [(f"sum by (service) (rate(crm_events_dead_lettered_total{{{SVC}}}[$__rate_interval]))",
            "{{service}} dead-lettered"),
           (f"sum by (service) (rate(crm_events_retried_total{{{SVC}}}[$__rate_interval]))",
            "{{service}} retried"),
           (f"sum by (service) (rate(crm_events_duplicate_total{{{SVC}}}[$__rate_interval]))",
            "{{service}} duplicate (inbox)")], w=12, unit="ops")

    L.row("Business")
    L.add("timeseries", "Open tickets by severity",
          [("sum by (severity) (crm_tickets_open)", "{{severity}}")],
          fieldConfig={"defaults": {"unit": "short", "custom": {"stacking": {"mode": "normal"}}},
                       "overrides": []})
    L.add("timeseries", "SLA breaches per hour by severity",
          [("sum by (severity) (increase(crm_sla_breaches_total[1h]))", "{{severity}}")],
          description="Alert CrmSlaBreachesRising when the last hour exceeds the one before.")
    L.add("timeseries", "New leads per day",
          [("sum(increase(crm_leads_created_total[24h]))", "leads / 24 h")])
    return L.panels


def dashboard():
    var = lambda name, label, query: {  # noqa: E731
        "name": name, "label": label, "type": "query", "datasource": DS,
        "query": {"query": query, "refId": f"{name}-var"}, "definition": query,
        "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1, "hide": 0, "options": [], "regex": "", "skipUrlSync": False}
    return {
        "uid": "kehu-crm-overview",
        "title": "Kehu CRM - services, events, business",
        "description": "RED per service and gateway, outbox, event lag, DLQs, tickets, SLA, leads.",
        "tags": ["kehu-crm"],
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "links": [],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource",
             "query": "prometheus", "current": {"text": "Prometheus", "value": "prometheus"},
             "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1,
             "regex": "", "skipUrlSync": False},
            var("service", "Service", 'label_values(crm_entrypoint_calls_total{kind="rpc"}, service)'),
            var("gateway", "Gateway", "label_values(crm_http_requests_total, service)"),
        ]},
        "panels": build(),
    }


def render():
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv[1:]:
        sys.exit(0 if OUT.exists() and OUT.read_text() == text else 1)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
