"""Export of a filtered customer list as CSV or XLSX, streamed.

Rows come from ``customers.export_customers`` batch by batch (keyset cursor), so
an export of 100k customers never holds more than one batch in the gateway.
The RPC already applies the access rule (staff: their own customers) and masks
contacts where the JSON API masks them; this module only lays rows out.

The header is the import format (``crm import customers`` and the import page
read it back), followed by read-only columns the import ignores.
"""
import csv
import io
import os
import tempfile
from decimal import Decimal
from urllib.parse import quote

import eventlet

IMPORT_COLUMNS = ("name", "uscc", "industry_code", "region", "scale", "annual_budget",
                  "needs", "source_channel", "type", "owner_id", "tags", "contact_name",
                  "contact_title", "contact_mobile", "contact_email")
EXTRA_COLUMNS = ("id", "tier", "completeness", "lost_reason", "updated_at")
COLUMNS = IMPORT_COLUMNS + EXTRA_COLUMNS
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BATCH = 1000  # export_customers' largest batch: fewest round trips
_CHUNK = 64 * 1024
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value):
    """A cell a spreadsheet will not run as a formula (CSV/formula injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def row(customer):
    """One customer as the export's columns (primary contact flattened)."""
    contacts = customer.get("contacts") or []
    primary = next((c for c in contacts if c.get("is_primary")), contacts[0] if contacts else {})
    flat = {k: customer.get(k) for k in COLUMNS}
    flat["tags"] = ",".join(customer.get("tags") or ())
    for key in ("name", "title", "mobile", "email"):
        flat[f"contact_{key}"] = primary.get(key)
    return flat


def customers(fetch, first=None):
    """Every customer of the export: ``fetch(cursor)`` returns one batch
    ``{"items", "next_cursor"}``; ``first`` is the batch already fetched."""
    batch = first if first is not None else fetch(None)
    while True:
        yield from batch["items"]
        if not batch.get("next_cursor"):
            return
        batch = fetch(batch["next_cursor"])


def csv_chunks(items):
    """UTF-8 CSV with a BOM (so spreadsheet programs read the Chinese), in chunks."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(COLUMNS)
    for customer in items:
        flat = row(customer)
        writer.writerow(["" if flat[k] is None else safe_text(str(flat[k])) for k in COLUMNS])
        if buf.tell() >= _CHUNK:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


def _xlsx_value(key, value):
    if value is None:
        return None
    if key == "annual_budget":
        return Decimal(value)
    if key in ("id", "completeness"):
        return value
    return safe_text(str(value))


def xlsx_file(items):
    """Write the export into a temporary .xlsx (openpyxl write-only: rows go to disk as
    they come) and return its path; the caller streams it and removes it."""
    from openpyxl import Workbook  # imported here: only exports pay for it

    fd, path = tempfile.mkstemp(prefix="crm-export-", suffix=".xlsx")
    os.close(fd)
    try:
        book = Workbook(write_only=True)
        sheet = book.create_sheet("customers")
        sheet.append(list(COLUMNS))
        for n, customer in enumerate(items, 1):
            flat = row(customer)
            sheet.append([_xlsx_value(k, flat[k]) for k in COLUMNS])
            if n % 200 == 0:
                eventlet.sleep(0)  # building is CPU work: let the gateway's other requests in
        book.save(path)
    except BaseException:
        os.unlink(path)
        raise
    return path


def file_chunks(path):
    """The file's bytes in chunks; the file is removed once read (or abandoned)."""
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                yield chunk
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def disposition(filename, inline=False):
    """Content-Disposition with an ASCII fallback and the UTF-8 name (RFC 6266/5987)."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_"
                       for ch in filename) or "download"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
