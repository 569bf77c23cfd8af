"""The dashboard's "sales channels" table (KPIs by lead source, ``channels.by_source``)."""
from html import escape

HEAD = {
    "zh": ("销售渠道分析（本期线索）", "来源", "线索", "转化", "赢单", "赢单金额", "转化率",
           "赢单率", "平均周期（天）"),
    "en": ("Sales channels (leads of the period)", "Source", "Leads", "Converted", "Won",
           "Won amount", "Conversion", "Win rate", "Avg cycle (days)"),
}
SOURCE_NAMES = {
    "zh": {"trade_show": "展会", "website": "官网", "referral": "转介绍", "campaign": "营销活动",
           "phone": "电话", "other": "其他"},
    "en": {"trade_show": "Trade show", "website": "Website", "referral": "Referral",
           "campaign": "Campaign", "phone": "Phone", "other": "Other"},
}


def _pct(value):
    return "—" if value is None else f"{float(value) * 100:.2f}%"


def render(channels, lang):
    """<section id="channels"> with one row per source; each figure also in data-*."""
    if not channels:
        return ""
    head = HEAD.get(lang, HEAD["zh"])
    names = SOURCE_NAMES.get(lang, SOURCE_NAMES["zh"])
    rows = "".join(
        f"<tr data-source='{escape(r['source'])}' data-won-amount='{r['won_amount']}' "
        f"data-conversion-rate='{r['conversion_rate'] or ''}' "
        f"data-win-rate='{r['win_rate'] or ''}' "
        f"data-avg-cycle-days='{r['avg_cycle_days'] or ''}'>"
        f"<td>{escape(names.get(r['source'], r['source']))}</td><td>{r['leads']}</td>"
        f"<td>{r['converted']}</td><td>{r['won']}</td><td>¥{r['won_amount']}</td>"
        f"<td>{_pct(r['conversion_rate'])}</td><td>{_pct(r['win_rate'])}</td>"
        f"<td>{r['avg_cycle_days'] or '—'}</td></tr>" for r in channels["by_source"])
    cells = "".join(f"<th>{h}</th>" for h in head[1:])
    return (f"<section id='channels'><h2>{head[0]}</h2><table><tr>{cells}</tr>{rows}"
            f"</table></section>")
