"""The import page: upload a CSV (the format documented on the page, the same as
``crm import customers``), see the per-row errors, download them as a CSV report."""
import base64
import csv
import io

from services.common.errors import ValidationError
from services.common.web.pages import page, page_context, render
from services.customers import export
from services.customers.page_duplicates import REASONS
from services.customers.pages import BASE, tr

MAX_FILE = 4 * 1024 * 1024
CHUNK = 1000  # import_customers takes at most 1000 rows per call
REQUIRED = ("name", "uscc", "industry_code", "type", "contact_name", "contact_title",
            "contact_mobile")


def parse(raw):
    """CSV bytes (UTF-8, with or without BOM; GB18030 as a fallback) -> rows, or a
    ValidationError naming the file."""
    for codec in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(codec)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError("bad file", {"file": ["not UTF-8 or GB18030 text"]})
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or ()]
    missing = [h for h in REQUIRED if h not in header]
    if missing:
        raise ValidationError("bad header", {"file": [f"missing columns: {', '.join(missing)}"]})
    reader.fieldnames = header
    return [{k: v for k, v in row.items() if k is not None} for row in reader]


def report_csv(rows, errors):
    """The errors as a CSV (row number, field, message, then the row as uploaded)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    columns = list(export.IMPORT_COLUMNS)
    writer.writerow(["row", "field", "message", *columns])
    for err in errors:
        original = rows[err["row"] - 1] if 0 < err["row"] <= len(rows) else {}
        values = [export.safe_text(str(original.get(c) or "")) for c in columns]
        for field, messages in (err.get("fields") or {}).items():
            for message in messages if isinstance(messages, list) else [messages]:
                writer.writerow([err["row"], field, export.safe_text(str(message)), *values])
    return buf.getvalue().encode("utf-8")


class CustomerImport:
    @page("GET", BASE + "/import")
    def customers_import_page(self, request):
        ctx = page_context(request)
        return self._import_page(ctx)

    @page("POST", BASE + "/import", max_body=MAX_FILE + 64 * 1024,
          form_template="customers/import.html", form_context=lambda self, request: _context(
              page_context(request)))
    def customers_import_submit(self, request):
        ctx = page_context(request)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationError("no file", {"file": [ctx.t("customers.import.missing")]})
        rows = parse(upload.read(MAX_FILE + 1))
        if not rows:
            raise ValidationError("empty", {"file": [ctx.t("customers.import.empty")]})
        created = updated = 0
        errors, duplicates = [], []
        for start in range(0, len(rows), CHUNK):
            result = self.call(self.customers, "import_customers", rows[start:start + CHUNK])
            created += result["created"]
            updated += result["updated"]
            errors += [dict(e, row=e["row"] + start, fields=tr(ctx, e["fields"]))
                       for e in result["errors"]]
            duplicates += [dict(d, row=d["row"] + start) for d in result.get("duplicates") or ()]
        report = base64.b64encode(report_csv(rows, errors)).decode("ascii") if errors else None
        return self._import_page(ctx, result={"created": created, "updated": updated,
                                              "errors": errors, "rows": len(rows),
                                              "duplicates": duplicates},
                                 report=report)

    def _import_page(self, ctx, result=None, report=None, status=200):
        return render("customers/import.html", status=status,
                      **dict(_context(ctx), result=result, report=report))


def _context(ctx):
    return {"columns": export.IMPORT_COLUMNS, "required": REQUIRED, "dup_reasons": REASONS,
            "result": None, "report": None, "page_title": ctx.t("customers.import.title"),
            "breadcrumbs": [(ctx.t("workspace.customers"), BASE),
                            (ctx.t("customers.import.title"), None)]}
