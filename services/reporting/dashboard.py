"""The managers' dashboard as one self-contained HTML page: KPI tiles, pygal SVG
charts rendered server-side (no script, no CDN: works offline), scorecards,
churn watchlist and freshness. Labels in zh-CN (default) or English."""
import datetime as dt
import re
from html import escape

import pygal
from pygal.style import Style

from services.reporting import channel_table

LANGS = ("zh", "en")
LABELS = {
    "zh": {
        "title": "客户关系管理 · 经营看板", "period": "期间", "show": "查看", "lang": "English",
        "kpis": "关键指标", "trend": "近 12 个月趋势", "funnel": "销售漏斗",
        "service": "投诉及时率与满意度趋势", "scorecards": "绩效记分卡",
        "top": "前五名", "bottom": "后五名", "watchlist": "流失预警",
        "freshness": "数据新鲜度", "employee": "员工", "role": "岗位", "score": "得分",
        "customer": "客户", "owner": "负责人", "signals": "触发信号", "risk": "风险分",
        "none": "暂无数据", "leads": "线索", "opportunities": "商机", "won": "赢单",
        "sales": "销售", "service_role": "服务", "lag": "事件到指标延迟",
        "p50": "中位数", "p95": "P95", "events": "已处理事件", "last": "最近处理",
        "seconds": "秒", "sales_trend": "销售额 (元)", "rates_trend": "转化率与赢单率",
        "campaigns": "营销活动", "scope_company": "全公司",
        "no_order_180d": "180 天无订单", "complaints_90d": "90 天内投诉 ≥ 2",
        "low_csat": "最近满意度 ≤ 2", "lost_opportunity_90d": "90 天内丢单",
    },
    "en": {
        "title": "Kehu CRM · Management dashboard", "period": "Period", "show": "Show",
        "lang": "中文", "kpis": "Key indicators", "trend": "Last 12 months",
        "funnel": "Sales funnel", "service": "Complaint timeliness and CSAT",
        "scorecards": "Scorecards", "top": "Top 5", "bottom": "Bottom 5",
        "watchlist": "Churn watchlist", "freshness": "Data freshness", "employee": "Employee",
        "role": "Role", "score": "Score", "customer": "Customer", "owner": "Owner",
        "signals": "Signals", "risk": "Risk", "none": "No data", "leads": "Leads",
        "opportunities": "Opportunities", "won": "Won", "sales": "Sales",
        "service_role": "Service", "lag": "Outbox-to-KPI lag", "p50": "median",
        "p95": "p95", "events": "Events applied", "last": "Last applied",
        "seconds": "s", "sales_trend": "Sales amount (CNY)",
        "rates_trend": "Conversion and win rates", "campaigns": "Campaigns",
        "scope_company": "Company",
        "no_order_180d": "no order in 180 days", "complaints_90d": "≥ 2 complaints in 90 days",
        "low_csat": "latest CSAT ≤ 2", "lost_opportunity_90d": "lost opportunity in 90 days",
    },
}
KPI_LABELS = {
    "zh": {"customers_new": "新增客户", "customer_info_completeness": "客户信息完整度",
           "leads_new": "新增线索", "lead_conversion_rate": "线索转化率",
           "opportunity_win_rate": "商机赢单率", "sales_amount": "销售额",
           "payments_received": "回款额", "weighted_pipeline": "加权商机金额",
           "follow_up_completion_rate": "跟进按时完成率", "tickets_new": "新增工单",
           "complaint_timeliness_rate": "投诉处理及时率",
           "first_response_timeliness_rate": "首次响应及时率", "csat_average": "平均满意度",
           "csat_satisfied_rate": "满意率", "retention_rate": "客户保留率",
           "churn_rate": "客户流失率", "care_visits_done": "关怀回访次数"},
    "en": {"customers_new": "New customers", "customer_info_completeness": "Profile completeness",
           "leads_new": "New leads", "lead_conversion_rate": "Lead conversion",
           "opportunity_win_rate": "Win rate", "sales_amount": "Sales",
           "payments_received": "Payments received", "weighted_pipeline": "Weighted pipeline",
           "follow_up_completion_rate": "Follow-ups on time", "tickets_new": "New tickets",
           "complaint_timeliness_rate": "Complaints resolved in SLA",
           "first_response_timeliness_rate": "First response in SLA",
           "csat_average": "CSAT average", "csat_satisfied_rate": "Satisfied share",
           "retention_rate": "Retention", "churn_rate": "Churn",
           "care_visits_done": "Care visits"},
}
TILES = tuple(KPI_LABELS["en"])
MONEY = ("sales_amount", "payments_received", "weighted_pipeline")
RATES = ("customer_info_completeness", "lead_conversion_rate", "opportunity_win_rate",
         "follow_up_completion_rate", "complaint_timeliness_rate",
         "first_response_timeliness_rate", "csat_satisfied_rate", "retention_rate",
         "churn_rate")

CSS = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:0;
background:#f4f6f9;color:#1f2d3d}
header{background:#1f4e79;color:#fff;padding:12px 24px;display:flex;align-items:center;
gap:24px;flex-wrap:wrap}
header h1{font-size:20px;margin:0}header form{display:flex;gap:8px;align-items:center}
header a{color:#fff}main{padding:16px 24px}
section{background:#fff;border-radius:6px;padding:12px 16px;margin-bottom:16px;
box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:16px;margin:4px 0 12px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
.tile{border:1px solid #dde3ea;border-radius:6px;padding:10px}
.tile .label{font-size:12px;color:#5a6b7d}.tile .value{font-size:22px;font-weight:600;
margin-top:4px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}
.charts svg{width:100%;height:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e5e9ef;padding:5px 8px;text-align:left}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.muted{color:#7a8899;font-size:12px}
"""


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


_NOISE = re.compile(r"<!--.*?-->|<script\b.*?</script>", re.S)


def _clean(svg):
    """Drop pygal's comments and its (unused) config script: the page has no script."""
    return _NOISE.sub("", svg)


def _chart(cls, title, labels, series, formatter=None, **kw):
    config = pygal.Config(js=[], disable_xml_declaration=True, width=640, height=300,
                          legend_at_bottom=True, show_y_guides=True, truncate_label=-1,
                          x_label_rotation=30, print_values=False, no_data_text="—",
                          style=Style(font_family="sans-serif", background="white",
                                      plot_background="white",
                                      colors=("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")),
                          **kw)
    chart = cls(config, title=title)
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values, formatter=formatter)
    return _clean(chart.render(is_unicode=True))


def charts(data, lang):
    t, k = LABELS[lang], KPI_LABELS[lang]
    trend = data["trend"]
    months = [row["period"] for row in trend]

    def col(key, scale=1.0):
        return [None if row[key] is None else round(float(row[key]) * scale, 2) for row in trend]

    f = data["funnel"]
    funnel = pygal.Funnel(pygal.Config(js=[], disable_xml_declaration=True, width=640,
                                       height=300, legend_at_bottom=True, no_data_text="—"),
                          title=t["funnel"])
    funnel.add(f"{t['leads']} {f['leads']}", [f["leads"]])
    funnel.add(f"{t['opportunities']} {f['opportunities']}", [f["opportunities"]])
    funnel.add(f"{t['won']} {f['won']}", [f["won"]])
    return {
        "sales": _chart(pygal.Bar, t["sales_trend"], months,
                        [(k["sales_amount"], col("sales_amount")),
                         (k["payments_received"], col("payments_received"))]),
        "rates": _chart(pygal.Line, t["rates_trend"], months,
                        [(k["lead_conversion_rate"], col("lead_conversion_rate", 100)),
                         (k["opportunity_win_rate"], col("opportunity_win_rate", 100))],
                        formatter=lambda v: f"{v:.1f}%"),
        "timeliness": _chart(pygal.Line, t["service"], months,
                             [(k["complaint_timeliness_rate"],
                               col("complaint_timeliness_rate", 100)),
                              (k["first_response_timeliness_rate"],
                               col("first_response_timeliness_rate", 100)),
                              (k["csat_satisfied_rate"], col("csat_satisfied_rate", 100))],
                             formatter=lambda v: f"{v:.1f}%"),
        "csat": _chart(pygal.Line, k["csat_average"], months,
                       [(k["csat_average"], col("csat_average"))], range=(1, 5)),
        "funnel": _clean(funnel.render(is_unicode=True)),
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


def _score(value):
    return "—" if value is None else f"{value:.2f}"


def _scorecard_rows(cards, t):
    if not cards:
        return f"<p class='muted'>{t['none']}</p>"
    rows = "".join(
        f"<tr data-employee='{escape(c['employee_id'])}'><td>{escape(c['employee_id'])}</td>"
        f"<td>{t['sales'] if c['role'] == 'sales' else t['service_role']}</td>"
        f"<td class='score'>{_score(c['score'])}</td></tr>" for c in cards)
    return (f"<table><tr><th>{t['employee']}</th><th>{t['role']}</th><th>{t['score']}</th></tr>"
            f"{rows}</table>")


def render(data, lang="zh", today=None, interactive=True):
    lang = lang if lang in LANGS else "zh"
    t, k = LABELS[lang], KPI_LABELS[lang]
    today = today or dt.date.today()
    kpis = data["kpis"]
    period = data["period"]
    other = "en" if lang == "zh" else "zh"
    picker = ""
    if interactive:
        options = "".join(f"<option value='{p}'{' selected' if p == period else ''}>{p}</option>"
                          for p in period_options(period, today))
        picker = (f"<form method='get' action='/dashboard' id='period-form'>"
                  f"<label for='period'>{t['period']}</label>"
                  f"<select name='period' id='period'>{options}</select>"
                  f"<input type='hidden' name='lang' value='{lang}'>"
                  f"<button type='submit'>{t['show']}</button></form>"
                  f"<a href='/dashboard?period={period}&amp;lang={other}' id='lang-switch'>"
                  f"{t['lang']}</a>")
    tiles = []
    for key in TILES:
        value = kpis[key]
        tiles.append(f"<div class='tile' data-kpi='{key}' data-value='{escape(raw(value))}'>"
                     f"<div class='label'>{k[key]}</div>"
                     f"<div class='value'>{escape(fmt(key, value))}</div></div>")
    kinds = kpis["tickets_new_by_kind"]
    for kind, n in kinds.items():
        tiles.append(f"<div class='tile' data-kpi='tickets_new_by_kind.{kind}' "
                     f"data-value='{n}'><div class='label'>{k['tickets_new']} · {kind}</div>"
                     f"<div class='value'>{n}</div></div>")
    c = charts(data, lang)
    camp_rows = "".join(
        f"<tr data-campaign='{escape(str(r['campaign_id']))}'><td>{escape(r['theme'] or '')}</td>"
        f"<td>{r['participants']}</td><td>{r['leads_generated']}</td>"
        f"<td>{r['leads_converted']}</td><td>{r['won_amount']}</td><td>{r['cost']}</td>"
        f"<td>{'—' if r['roi'] is None else r['roi']}</td></tr>" for r in kpis["campaigns"])
    campaigns = (f"<table><tr><th>{t['campaigns']}</th><th>participants</th><th>leads</th>"
                 f"<th>converted</th><th>won</th><th>cost</th><th>ROI</th></tr>{camp_rows}"
                 f"</table>") if camp_rows else f"<p class='muted'>{t['none']}</p>"
    watch = data["watchlist"]
    watch_rows = "".join(
        f"<tr data-customer='{escape(w['customer_id'])}'>"
        f"<td>{escape(w['name'] or w['customer_id'])}"
        f"</td><td>{escape(w['owner_id'] or '')}</td>"
        f"<td>{'、'.join(t[s] for s in w['signals'])}</td><td>{w['risk_score']}</td></tr>"
        for w in watch["items"])
    watch_html = (f"<table><tr><th>{t['customer']}</th><th>{t['owner']}</th>"
                  f"<th>{t['signals']}</th><th>{t['risk']}</th></tr>{watch_rows}</table>"
                  f"<p class='muted'>{watch['total']}</p>") if watch_rows else \
        f"<p class='muted'>{t['none']}</p>"
    fr = data["freshness"]

    def secs(v):
        return "—" if v is None else f"{v:.2f} {t['seconds']}"
    scope = data.get("scope") or {}
    scope_text = scope.get("owner_id") or scope.get("department") or t["scope_company"]
    return f"""<!DOCTYPE html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{t['title']} · {period}</title><style>{CSS}</style></head>
<body data-period="{period}" data-lang="{lang}">
<header><h1>{t['title']}</h1>{picker}<span>{t['period']}: <b id="period-label">{period}</b>
 · {escape(scope_text)} · {escape(data.get('timezone', ''))}</span></header>
<main>
<section id="kpis"><h2>{t['kpis']}</h2><div class="tiles">{''.join(tiles)}</div></section>
<section id="trends"><h2>{t['trend']}</h2><div class="charts">
<div id="chart-sales">{c['sales']}</div><div id="chart-rates">{c['rates']}</div>
<div id="chart-funnel" data-leads="{data['funnel']['leads']}"
 data-opportunities="{data['funnel']['opportunities']}" data-won="{data['funnel']['won']}">
{c['funnel']}</div>
<div id="chart-timeliness">{c['timeliness']}</div><div id="chart-csat">{c['csat']}</div>
</div></section>
<section id="campaigns"><h2>{t['campaigns']}</h2>{campaigns}</section>
{channel_table.render(data.get("channels"), lang)}
<div class="cols">
<section id="scorecards"><h2>{t['scorecards']}</h2>
<h3>{t['top']}</h3><div id="top-scorecards">{_scorecard_rows(data['top_scorecards'], t)}</div>
<h3>{t['bottom']}</h3><div id="bottom-scorecards">
{_scorecard_rows(data['bottom_scorecards'], t)}</div></section>
<section id="watchlist"><h2>{t['watchlist']}</h2>{watch_html}</section>
</div>
<section id="freshness"><h2>{t['freshness']}</h2>
<p>{t['lag']}: {t['p50']} <b id="lag-p50">{secs(fr['lag_p50_seconds'])}</b> ·
 {t['p95']} <b id="lag-p95">{secs(fr['lag_p95_seconds'])}</b> ·
 {t['events']} <b id="events-applied">{fr['events_applied']}</b> ·
 {t['last']} {escape(fr['last_applied_at'] or '—')}</p></section>
</main></body></html>"""

