"""Exports of the leads, opportunities and orders lists (CSV with a BOM for Excel, and
XLSX with openpyxl): the list's filters, only the rows the user may see — every page
comes from the same list RPC, run as the user. Headers and coded values (source,
status, stage) read in the user's page language, as the pages say them; ``?codes=1``
gives the column names and codes for programs (``services/sales/export_labels.py``)."""
import csv
import io
import itertools

from openpyxl import Workbook
from werkzeug.wrappers import Response

from services.common.web.forms import Form
from services.common.web.pages import page, page_context
from services.sales.export_labels import Labels, wants_codes
from services.sales.pages_base import SalesPageBase, is_manager
from services.sales.pages_leads import lead_filters

BATCH = 100
COLUMNS = {
    "leads": ("id", "source", "status", "customer_name", "contact_name", "contact_mobile",
              "contact_email", "region", "industry_code", "campaign_id", "owner_id",
              "created_at"),
    "opportunities": ("id", "name", "customer_id", "stage", "probability", "amount",
                      "weighted_amount", "expected_close_date", "owner_id", "campaign_id",
                      "created_at", "closed_at"),
    "orders": ("id", "customer_id", "customer_name", "opportunity_id", "status", "amount",
               "paid_total", "outstanding", "delivery_date", "owner_id", "placed_at"),
}
RPC = {"leads": "list_leads", "opportunities": "list_opportunities", "orders": "list_orders"}


def filters_for(kind, form, manager):
    if kind == "leads":
        return lead_filters(form, manager)
    out = {}
    keys = ("stage",) if kind == "opportunities" else ("status",)
    for key in keys:
        if form.value(key):
            out[key] = form.value(key)
    if manager and form.value("owner_id").strip():
        out["owner_id"] = form.value("owner_id").strip()
    return out


CSV_TYPE = "text/csv; charset=utf-8"  # a full content type: werkzeug adds no second charset
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # as the customers export


def _cell(value):
    if value is None:
        return ""
    # a spreadsheet must not run a cell as a formula (CSV/formula injection)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) and not _number(text) else text


def _number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def to_csv(columns, rows, labels):
    out = io.StringIO()
    out.write("\ufeff")  # UTF-8 with a BOM, as the customers export: Excel reads the Chinese
    w = csv.writer(out)
    w.writerow([_cell(h) for h in labels.headers(columns)])
    for row in rows:
        w.writerow([_cell(v) for v in labels.row(columns, row)])
    return out.getvalue().encode("utf-8")


def csv_chunks(columns, rows, labels, every=BATCH):
    """``to_csv`` as a stream of byte chunks (the header, then ``every`` rows a chunk)."""
    out = io.StringIO()
    w = csv.writer(out)
    out.write("\ufeff")
    w.writerow([_cell(h) for h in labels.headers(columns)])
    for n, row in enumerate(rows, 1):
        w.writerow([_cell(v) for v in labels.row(columns, row)])
        if n % every == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue().encode("utf-8")


def to_xlsx(columns, rows, labels):
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(labels.sheet())
    ws.append([_cell(h) for h in labels.headers(columns)])
    for row in rows:
        ws.append([_cell(v) for v in labels.row(columns, row)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


class ExportPages(SalesPageBase):
    def _rows(self, kind, filters):
        """Every row the list gives the user, page by page (no cap: an export that
        stopped at some count without saying so would look complete)."""
        page_no, cursor = 1, None
        while True:
            # by next_cursor where the list answers one: its total is an estimate above
            # 1,000 rows, so counting pages from it could cut the export short
            paging = {"cursor": cursor} if cursor else {"page": page_no}
            result = self.call(self.sales, RPC[kind], filters, page_size=BATCH, **paging)
            yield from result["items"]
            if "next_cursor" in result:
                cursor = result["next_cursor"]
                if not cursor or not result["items"]:
                    return
                continue
            if not result["items"] or page_no * BATCH >= result["total"]:
                return
            page_no += 1

    def _export(self, request, kind, fmt):
        form, ctx = Form(request), page_context(request)
        rows = self._rows(kind, filters_for(kind, form, is_manager(ctx)))
        columns = COLUMNS[kind]
        labels = Labels(kind, None if wants_codes(form) else ctx.t)
        first = next(rows, None)  # the first page is read before the answer starts, so
        # a refused or failed call is still the error page, not a cut-off download
        rows = itertools.chain([] if first is None else [first], rows)
        headers = {"Content-Disposition": f"attachment; filename={kind}.{fmt}",
                   "Cache-Control": "private, no-store"}
        if fmt == "csv":  # streamed, a batch at a time
            return Response(csv_chunks(columns, rows, labels), content_type=CSV_TYPE,
                            headers=headers, direct_passthrough=True)
        return Response(to_xlsx(columns, rows, labels), content_type=XLSX_TYPE,
                        headers=headers)

    @page("GET", "/app/leads/export.<any(csv, xlsx):fmt>")
    def export_leads(self, request, fmt):
        return self._export(request, "leads", fmt)

    @page("GET", "/app/opportunities/export.<any(csv, xlsx):fmt>")
    def export_opportunities(self, request, fmt):
        return self._export(request, "opportunities", fmt)

    @page("GET", "/app/orders/export.<any(csv, xlsx):fmt>")
    def export_orders(self, request, fmt):
        return self._export(request, "orders", fmt)
