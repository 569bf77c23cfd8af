"""Likely duplicates and merged records on the workspace's pages.

``duplicate_details``: the ``duplicates`` warnings of a create/update/import answer
(id, company name, reason) as flash detail links to ``/app/customers/<id>`` (someone
else's customer answers the 404 page there: only its id and name are shown).
``follow_merged``: a page on a merged customer id goes to the kept customer (the
service answers ``Merged`` with ``kept_id``; docs/customers_duplicates.md).
"""
import functools

from services.common.errors import Merged
from services.common.web.pages import page_context, redirect

REASONS = ("same_name", "same_mobile", "similar_name_same_region")


def reason_text(t, reason):
    key = f"customers.dup.reason.{reason}"
    shown = t(key)
    return reason if shown == key else shown


def duplicate_text(t, dup):
    """'#7 上海蓝天科技有限公司（同名）' in the page's language."""
    text = t("customers.dup.item", id=dup.get("id"), name=dup.get("name") or "",
             reason=reason_text(t, dup.get("reason")))
    if dup.get("row") is not None:
        text = t("customers.dup.row", row=dup["row"]) + " " + text
    return text


def duplicate_details(t, dups, base):
    """[{"text", "href"}] for ``redirect(..., details=...)``."""
    return [{"text": duplicate_text(t, d), "href": f"{base}/{int(d['id'])}"}
            for d in dups or () if str(d.get("id", "")).isdigit()]


def follow_merged(base):
    """Decorate a page taking ``customer_id`` (under ``@page``): when the service says
    the customer was merged, a GET goes to the same page of the kept customer (query
    kept), a POST to the kept customer's detail page (nothing was saved); both with
    a flash saying so."""

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(self, request, customer_id, **kwargs):
            try:
                return fn(self, request, customer_id=customer_id, **kwargs)
            except Merged as exc:
                kept = exc.kept_id
                if not isinstance(kept, int) or kept == customer_id:
                    raise
                ctx = page_context(request)
                old = f"{base}/{customer_id}"
                if request.method == "GET" and (request.path == old
                                                or request.path.startswith(old + "/")):
                    url = f"{base}/{kept}" + request.path[len(old):]
                    query = request.query_string.decode("latin-1")
                    url += f"?{query}" if query else ""
                    message = ctx.t("customers.merged.moved", old=customer_id, new=kept)
                else:
                    url = f"{base}/{kept}"
                    message = ctx.t("customers.merged.not_saved", old=customer_id, new=kept)
                return redirect(url, flash=message, kind="warning")

        return wrapper

    return decorator
