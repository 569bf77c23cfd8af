"""The managers' dashboard: what each tile, chart and table shows and where it links.

The page is the kit's layout (``templates/reporting/dashboard.html``); this module
turns the ``reporting.dashboard`` RPC answer into what the template prints: KPI
tiles (value + the list behind it in the department's workspace), pygal SVG charts
rendered server-side (no script, no CDN: works offline), scorecards, watchlist,
channels and freshness. Words come from the catalogues (``messages/``), zh-CN first.

Links into another workspace go through ``/app/open/<service>?to=<path>`` on this
gateway (303 to the workspace's configured URL, ``directory.workspace_url``): pages
carry no absolute URL, and the targets follow ``WORKSPACE_URLS`` / ``CRM_PORT_OFFSET``.
"""
import datetime as dt
import math
import re
from urllib.parse import urlencode

import pygal
from pygal.style import Style

LANGS = ("zh", "en")  # report.py's --lang; pages use the kit's zh_CN / en
TILES = ("customers_new", "customer_info_completeness", "leads_new", "lead_conversion_rate",
         "opportunity_win_rate", "sales_amount", "payments_received", "weighted_pipeline",
         "follow_up_completion_rate", "tickets_new", "complaint_timeliness_rate",
         "first_response_timeliness_rate", "csat_average", "csat_satisfied_rate",
         "retention_rate", "churn_rate", "care_visits_done")
MONEY = ("sales_amount", "payments_received", "weighted_pipeline")
RATES = ("customer_info_completeness", "lead_conversion_rate", "opportunity_win_rate",
         "follow_up_completion_rate", "complaint_timeliness_rate",
         "first_response_timeliness_rate", "csat_satisfied_rate", "retention_rate",
         "churn_rate")
TICKETS = {"view": "all"}  # a manager's queue: everyone's tickets, not only theirs

# KPI -> (workspace, list path, query): the list a manager checks behind the figure
TILE_LISTS = {
    "customers_new": ("customers", "/app/customers", {"sort": "-updated"}),
    "customer_info_completeness": ("customers", "/app/customers", {}),
    "retention_rate": ("customers", "/app/customers", {"type": "closed"}),
    "churn_rate": ("customers", "/app/customers", {"type": "lost"}),
    "leads_new": ("sales", "/app/leads", {}),
    "lead_conversion_rate": ("sales", "/app/leads", {"status": "converted"}),
    "opportunity_win_rate": ("sales", "/app/pipeline", {}),
    "sales_amount": ("sales", "/app/orders", {}),
    "payments_received": ("sales", "/app/orders", {}),  # partly paid orders count too
    "weighted_pipeline": ("sales", "/app/forecast", {"period": None}),
    "follow_up_completion_rate": ("sales", "/app/my-day", {}),
    "tickets_new": ("service_desk", "/app/tickets", TICKETS),
    "complaint_timeliness_rate": ("service_desk", "/app/tickets",
                                  dict(TICKETS, kind="complaint")),
    "first_response_timeliness_rate": ("service_desk", "/app/tickets", TICKETS),
    "csat_average": ("service_desk", "/app/tickets", dict(TICKETS, status="closed")),
    "csat_satisfied_rate": ("service_desk", "/app/tickets", dict(TICKETS, status="closed")),
    "care_visits_done": ("service_desk", "/app/care", {}),
}
OWNER_FILTERED = ("customers", "sales")  # lists that take ?owner_id= (managers)
WORKSPACE_OF_ROLE = {"sales": ("sales", "/app/leads"), "service": ("service_desk", "/app/tickets")}
_DIGITS = re.compile(r"^[0-9]{1,18}$")


def link(service, path, params=None):
    """This gateway's hop to ``path?params`` in ``service``'s workspace."""
    target = path + (f"?{urlencode(params)}" if params else "")
    return f"/app/open/{service}?{urlencode({'to': target})}"


def tile_link(key, period, scope=None):
    service, path, query = TILE_LISTS[key]
    params = {k: (period if v is None else v) for k, v in query.items()}
    owner = (scope or {}).get("owner_id")
    if owner and service in OWNER_FILTERED and path != "/app/forecast":
        params["owner_id"] = owner
    return link(service, path, params)


def fmt(key, value):
    """How a tile shows a KPI value (the test compares this with get_kpis)."""
    if value is None:
        return "—"
    if key in MONEY:
        return f"¥{float(value):,.2f}"
    if key in RATES:
        return f"{value * 100:.2f}%"
    if key == "csat_average":
        return f"{value:.2f}"
    return str(value)


def raw(value):
    return "null" if value is None else str(value)


def pct(value):
    return "—" if value is None else f"{float(value) * 100:.2f}%"


# --- charts -------------------------------------------------------------------------------
_NOISE = re.compile(r"<!--.*?-->|<script\b.*?</script>", re.S)


def _clean(svg):
    """Drop pygal's comments and its (unused) config script: the page has no script."""
    return _NOISE.sub("", svg)


def _style():
    return Style(font_family="Noto Sans CJK SC, sans-serif", background="white",
                 plot_background="white",
                 colors=("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"))


def _chart(cls, title, labels, series, formatter=None, **kw):
    config = pygal.Config(js=[], disable_xml_declaration=True, width=640, height=300,
                          legend_at_bottom=True, show_y_guides=True, truncate_label=-1,
                          x_label_rotation=30, print_values=False, no_data_text="—",
                          style=_style(), **kw)
    chart = cls(config, title=title)
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values, formatter=formatter)
    return _clean(chart.render(is_unicode=True))


def count_axis(values, max_ticks=5):
    """(top, ticks) of an axis of counts from 0: a step of 1, 2 or 5 × 10^k giving at
    most ``max_ticks`` steps, top the first multiple of the step ≥ the largest value.
    No data or only zeros: (1, [0, 1]). Never negative (a funnel's counts are not)."""
    biggest = max([v for v in values if v is not None] + [0])
    if biggest <= 0:
        return 1, [0, 1]
    step, magnitude = 1, 1
    while True:
        for base in (1, 2, 5):
            step = base * magnitude
            if math.ceil(biggest / step) <= max_ticks:
                top = math.ceil(biggest / step) * step
                return top, list(range(0, top + 1, step))
        magnitude *= 10


def funnel_chart(t, funnel):
    """Leads → opportunities → won as horizontal bars on a 0-based count axis (pygal's
    Funnel mirrors its axis around 0: −10 … 10 with no data)."""
    stages = (("leads", t("reporting.leads")), ("opportunities", t("reporting.opportunities")),
              ("won", t("reporting.won")))
    values = [int(funnel.get(k) or 0) for k, _ in stages]
    top, ticks = count_axis(values)
    config = pygal.Config(js=[], disable_xml_declaration=True, width=640, height=300,
                          show_legend=False, print_values=True, range=(0, top), y_labels=ticks,
                          show_y_guides=True, truncate_label=-1, style=_style())
    chart = pygal.HorizontalBar(config, title=t("reporting.funnel"))
    # pygal draws the first label at the bottom: reversed, leads are the top bar
    chart.x_labels = [label for _, label in reversed(stages)]
    chart.add(t("reporting.funnel"), values[::-1], formatter=lambda v: str(int(v)))
    return _clean(chart.render(is_unicode=True))


def charts(data, t):
    trend = data["trend"]
    months = [row["period"] for row in trend]

    def col(key, scale=1.0):
        return [None if row[key] is None else round(float(row[key]) * scale, 2) for row in trend]

    def k(key):
        return t(f"reporting.kpi.{key}")
    return {
        "sales": _chart(pygal.Bar, t("reporting.sales_trend"), months,
                        [(k("sales_amount"), col("sales_amount")),
                         (k("payments_received"), col("payments_received"))]),
        "rates": _chart(pygal.Line, t("reporting.rates_trend"), months,
                        [(k("lead_conversion_rate"), col("lead_conversion_rate", 100)),
                         (k("opportunity_win_rate"), col("opportunity_win_rate", 100))],
                        formatter=lambda v: f"{v:.1f}%"),
        "timeliness": _chart(pygal.Line, t("reporting.service_trend"), months,
                             [(k("complaint_timeliness_rate"),
                               col("complaint_timeliness_rate", 100)),
                              (k("first_response_timeliness_rate"),
                               col("first_response_timeliness_rate", 100)),
                              (k("csat_satisfied_rate"), col("csat_satisfied_rate", 100))],
                             formatter=lambda v: f"{v:.1f}%"),
        "csat": _chart(pygal.Line, k("csat_average"), months,
                       [(k("csat_average"), col("csat_average"))], range=(1, 5)),
        "funnel": funnel_chart(t, data["funnel"]),
    }


def period_options(selected, today):
    opts, y, m = [], today.year, today.month
    for i in range(24):
        mm = (m - 1 - i) % 12 + 1
        yy = y + (m - 1 - i) // 12
        opts.append(f"{yy}-{mm:02d}")
    for yy in (y, y - 1):
        opts += [f"{yy}-Q{q}" for q in range(4, 0, -1)] + [str(yy)]
    if selected not in opts:
        opts.insert(0, selected)
    return opts


# --- the page's model -----------------------------------------------------------------------
def _score(value):
    return "—" if value is None else f"{value:.2f}"


def _card_rows(cards, period, names):
    out = []
    for c in cards:
        emp = c["employee_id"]
        service, path = WORKSPACE_OF_ROLE.get(c["role"], ("sales", "/app/leads"))
        # the list behind the row: a salesperson's leads, a service agent's queue
        params = {"owner_id": emp} if service == "sales" else dict(TICKETS, assignee_id=emp)
        out.append({"employee_id": emp, "name": names(emp), "role": c["role"],
                    "score": c["score"], "score_text": _score(c["score"]),
                    "href": f"/app/scorecards/{emp}?{urlencode({'period': period})}",
                    "list_href": link(service, path, params)})
    return out


def view(data, t, today=None, names=lambda emp: emp):
    """Everything the template prints, from the ``dashboard`` RPC answer."""
    today = today or dt.date.today()
    period, kpis = data["period"], data["kpis"]
    scope = data.get("scope") or {}
    tiles = [{"key": key, "label": t(f"reporting.kpi.{key}"), "raw": raw(kpis[key]),
              "text": fmt(key, kpis[key]), "href": tile_link(key, period, scope)}
             for key in TILES]
    for kind, n in kpis["tickets_new_by_kind"].items():
        tiles.append({"key": f"tickets_new_by_kind.{kind}",
                      "label": t("reporting.tickets_by_kind", kind=t(f"reporting.kind.{kind}")),
                      "raw": str(n), "text": str(n),
                      "href": link("service_desk", "/app/tickets", dict(TICKETS, kind=kind))})
    campaigns = []
    for r in kpis["campaigns"]:
        cid = str(r["campaign_id"])
        campaigns.append(dict(r, href=link("marketing", f"/app/campaigns/{cid}")
                              if _DIGITS.match(cid) else
                              link("marketing", "/app/campaigns", {"q": r["theme"] or ""})))
    watch = data["watchlist"]
    watch_rows = [dict(w, signal_text=t("reporting.list_sep").join(
                           t(f"reporting.signal.{s}") for s in w["signals"]),
                       owner_name=names(w["owner_id"]) if w["owner_id"] else "",
                       href=link("customers", f"/app/customers/{w['customer_id']}")
                       if _DIGITS.match(str(w["customer_id"])) else
                       link("customers", "/app/customers", {"q": w["name"] or ""}))
                  for w in watch["items"]]
    channels = []
    for r in (data.get("channels") or {}).get("by_source") or ():
        channels.append(dict(r, name=t(f"reporting.source.{r['source']}")
                             if r["source"] in SOURCES else r["source"],
                             conversion_text=pct(r["conversion_rate"]),
                             win_text=pct(r["win_rate"]),
                             href=link("sales", "/app/leads", {"source": r["source"]})))
    ranked = data.get("rankings")
    rankings = []
    for role in ("sales", "service"):
        if role in (ranked or {}):
            rankings.append({"role": role, "label": t(f"reporting.role.{role}"),
                             "top": _card_rows(ranked[role]["top"], period, names),
                             "bottom": _card_rows(ranked[role]["bottom"], period, names)})
    if ranked is None:  # an older reporting service: the company-wide lists
        rankings.append({"role": "all", "label": "",
                         "top": _card_rows(data["top_scorecards"], period, names),
                         "bottom": _card_rows(data["bottom_scorecards"], period, names)})
    f = data["funnel"]
    fr = data["freshness"]

    def secs(v):
        return "—" if v is None else t("reporting.freshness.seconds", n=f"{v:.2f}")
    return {
        "period": period, "scope_text": scope.get("owner_id") or scope.get("department")
        or t("reporting.scope_company"), "timezone": timezone_words(data.get("timezone"), t),
        "periods": period_options(period, today), "tiles": tiles,
        "charts": charts(data, t), "campaigns": campaigns,
        "watch": watch_rows, "watch_total": watch["total"], "channels": channels,
        "channels_href": link("sales", "/app/channels", {"period": period}),
        "rankings": rankings,
        "funnel": [{"key": k, "label": t(f"reporting.{k}"), "n": f[k], "href": link(*dest)}
                   for k, dest in (("leads", ("sales", "/app/leads")),
                                   ("opportunities", ("sales", "/app/pipeline")),
                                   ("won", ("sales", "/app/orders")))],
        "fresh": {"p50": secs(fr["lag_p50_seconds"]), "p95": secs(fr["lag_p95_seconds"]),
                  "events": fr["events_applied"], "last": fr["last_applied_at"]},
    }


def timezone_words(zone, t):
    """The company time zone in the page's words (``reporting.tz.<IANA name>``: 北京时间
    for Asia/Shanghai), under ``reporting.timezone`` ("时区：…"); a zone the catalogue
    does not name keeps its IANA name; none: empty."""
    if not zone:
        return ""
    key = f"reporting.tz.{zone}"
    named = t(key)
    return t("reporting.timezone", name=zone if named == key else named)


SOURCES = ("trade_show", "website", "referral", "campaign", "phone", "other")


def render_report(data, lang="zh"):
    """The dashboard as one self-contained HTML file (``python -m
    services.reporting.report``): the kit's stylesheet inlined, no links."""
    from pathlib import Path

    from services.common.web import i18n
    from services.common.web.templating import KIT_DIR, environment
    code = "en" if lang == "en" else "zh_CN"
    t = i18n.translator(code, "reporting")
    css = (KIT_DIR / "static" / "kit.css").read_text(encoding="utf-8")
    own = Path(__file__).resolve().parent / "static" / "dashboard.css"
    css += own.read_text(encoding="utf-8") if own.exists() else ""
    return environment("reporting").get_template("reporting/report.html").render(
        t=t, lang=code, html_lang=i18n.HTML_LANG[code], css=css, d=view(data, t),
        tz=data.get("timezone") or "Asia/Shanghai", links=False)
