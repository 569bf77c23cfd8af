"""Cursor paging for the service workspace's short lists (care plans, FAQ entries), as
the tickets queue and the campaigns page do it: ``?cursor=`` reads on after the last
row shown, 下一页 only while rows follow, 第一页 back from a later page; a garbage
cursor is a 422 page with the message, never a stack trace."""
from urllib.parse import urlencode

from services.common.errors import ValidationError
from services.service_desk.page_messages import errors

PAGE_SIZE = 25


def read_page(gateway, ctx, form, method, args, base, keep=(), **kwargs):
    """Call ``method(*args, 1, PAGE_SIZE, cursor, **kwargs)`` for the form's ``cursor``
    → ``{result, cursor_url, first_url, cursor}``; the ``keep`` form fields travel in
    the links."""
    cursor = (form.value("cursor") or "").strip()[:2000] or None
    try:
        result = gateway.call(gateway.desk, method, *args, 1, PAGE_SIZE, cursor, **kwargs)
    except ValidationError as exc:
        form.with_errors(errors(ctx, exc))
        result = {"items": [], "total": 0, "page": 1, "page_size": PAGE_SIZE}
    kept = {k: form.value(k).strip() for k in keep if (form.value(k) or "").strip()}

    def cursor_url(c):
        return f"{base}?{urlencode(dict(kept, cursor=c))}"

    return {"result": result, "cursor_url": cursor_url, "cursor": cursor,
            "first_url": f"{base}?{urlencode(kept)}" if kept else base}
