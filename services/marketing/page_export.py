"""Exports of a campaign (participants, evaluation) as CSV or XLSX (openpyxl), and
the evaluation chart: an SVG drawn on the server by pygal, no script, no external
asset."""
import csv
import io

import pygal
from markupsafe import Markup
from openpyxl import Workbook
from werkzeug.wrappers import Response

from services.common.errors import NotFound
from services.common.web.pages import page, page_context
from services.marketing.pages import BASE

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PARTICIPANT_COLUMNS = ("id", "kind", "customer_id", "company", "contact_name", "mobile",
                       "email", "region", "industry_code", "segment", "registered_at",
                       "attended", "attended_at", "lead_generated", "feedback_score")
EVALUATION_KEYS = ("participants", "attended", "attendance_rate", "feedback_count",
                   "feedback_average", "leads_generated", "leads_in_sales", "leads_converted",
                   "lead_conversion_rate", "opportunities", "opportunities_won", "orders",
                   "won_amount", "budget", "cost", "roi")
CHART_STYLE = pygal.style.Style(background="white", plot_background="white",
                                font_family="Noto Sans CJK SC, sans-serif",
                                colors=("#0969da", "#2e7d32", "#8250df", "#bf8700", "#d1242f"))


def evaluation_chart(evaluation, t):
    """The campaign funnel (participants → attended → leads → converted → won) as an
    inline SVG (pygal, no JavaScript)."""
    top = max(1, int(evaluation.get("participants") or 0))
    step = max(1, -(-top // 8))  # whole people: at most ~8 integer ticks
    chart = pygal.HorizontalBar(style=CHART_STYLE, width=640, height=300, show_legend=False,
                                print_values=True, js=(), disable_xml_declaration=True,
                                title=t("mk.eval.funnel"), range=(0, top),
                                y_labels=list(range(0, top + step, step)))
    steps = (("participants", "mk.eval.participants"), ("attended", "mk.eval.attended"),
             ("leads_generated", "mk.eval.leads_generated"),
             ("leads_converted", "mk.eval.leads_converted"),
             ("opportunities_won", "mk.eval.opportunities_won"))
    chart.x_labels = [t(label) for _, label in reversed(steps)]
    chart.add(t("mk.eval.count"), [int(evaluation.get(key) or 0) for key, _ in reversed(steps)])
    return Markup(chart.render(is_unicode=True))


def _participant_rows(self, campaign_id):
    rows, page_no, cursor = [], 1, None
    while True:
        # by next_cursor (the total is an estimate above 1,000 participants)
        paging = {"cursor": cursor} if cursor else {"page": page_no}
        got = self.call(self.marketing, "list_participants", campaign_id, page_size=100,
                        **paging)
        for p in got["items"]:
            scores = [f["score"] for f in p.get("feedback") or []]
            row = dict(p, feedback_score=(sum(scores) / len(scores)) if scores else None)
            rows.append([row.get(c) for c in PARTICIPANT_COLUMNS])
        if not got["items"]:
            return rows
        if "next_cursor" in got:
            cursor = got["next_cursor"]
            if not cursor:
                return rows
            continue
        if page_no * 100 >= got["total"]:
            return rows
        page_no += 1


def _send(name, header, rows, fmt):
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in r] for r in rows)
        body = "\ufeff" + buf.getvalue()  # BOM: Excel opens UTF-8 Chinese correctly
        return Response(body.encode("utf-8"), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"'})
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(name)
    ws.append(list(header))
    for r in rows:
        ws.append(["" if v is None else (v if isinstance(v, (int, float)) else str(v))
                   for v in r])
    out = io.BytesIO()
    wb.save(out)
    return Response(out.getvalue(), mimetype=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{name}.xlsx"'})


class ExportPages:
    """Downloads of the campaign page (mixed into MarketingGateway)."""

    @page("GET", BASE + "/<int:campaign_id>/participants.<fmt>")
    def participants_export(self, request, campaign_id, fmt):
        if fmt not in ("csv", "xlsx"):
            raise NotFound("no such export")
        page_context(request)
        rows = _participant_rows(self, campaign_id)
        return _send(f"campaign-{campaign_id}-participants", PARTICIPANT_COLUMNS, rows, fmt)

    @page("GET", BASE + "/<int:campaign_id>/evaluation.<fmt>")
    def evaluation_export(self, request, campaign_id, fmt):
        if fmt not in ("csv", "xlsx"):
            raise NotFound("no such export")
        ctx = page_context(request)
        evaluation = self.call(self.marketing, "evaluate_campaign", campaign_id)
        rows = [[key, ctx.t(f"mk.eval.{key}"), evaluation.get(key)] for key in EVALUATION_KEYS]
        return _send(f"campaign-{campaign_id}-evaluation", ("key", "label", "value"), rows, fmt)
