"""The customers workspace (8001): list, create/edit form, detail page.

Views call the same RPCs as the JSON routes, as the signed-in user: staff see
exactly what ``customers`` lets them see (someone else's customer is the 404
page; contacts come masked from the service for non-owners).
State changes (tags, attachments, lost, owner) are in ``page_actions.py``, the
import page in ``page_import.py``.
"""
from urllib.parse import urlencode

import eventlet

from services.common.errors import Conflict, ValidationError
from services.common.web import directory
from services.common.web.forms import Form
from services.common.web.pages import page, page_context, redirect, render
from services.customers import crosslinks, industries, page_forms, page_messages
from services.customers.domain import LOST_REASONS, SCALES
from services.customers.page_duplicates import duplicate_details, follow_merged

BASE = "/app/customers"
PAGE_SIZE = 20
LIST_KEYS = ("q", "tags", "tags_mode", "type", "tier", "region", "industry", "owner_id",
             "sort")
SORTS = ("-updated", "updated", "name", "-name", "id")
TYPES = ("potential", "closed", "lost")
COSTLY_FOR_COUNTS = {"q", "tags_all", "tags_any"}


def list_filters(form, is_manager, t=None):
    """The list form (GET) as ``list_customers`` filters. An industry typed by name is
    resolved like the customer form does; one that matches no or several industries
    is a field error on ``form`` (with ``t``) and filters nothing."""
    filters = {}
    for key in ("q", "type", "tier", "region", "sort"):
        value = (form.value(key) or "").strip()
        if value:
            filters[key] = value
    industry = (form.value("industry") or "").strip()
    if industry:
        code, problem = industries.resolve(industry, t or (lambda key, **kw: key))
        if problem:
            form.add_error("industry", problem)  # the caller lists nothing
        else:
            filters["industry_code"] = code
    if is_manager and (form.value("owner_id") or "").strip():
        filters["owner_id"] = form.value("owner_id").strip()
    tags = [t.strip() for t in str(form.value("tags") or "").replace("，", ",").split(",")
            if t.strip()]
    if tags:
        filters["tags_any" if form.value("tags_mode") == "any" else "tags_all"] = tags
    return filters


def list_query(form, **over):
    """The list's query string with the current filters (for paging and exports)."""
    args = {k: form.value(k) for k in LIST_KEYS if form.value(k)}
    args.update(over)
    return urlencode({k: v for k, v in args.items() if v not in (None, "")})


def page_number(form):
    try:
        return max(1, min(int(form.value("page") or 1), 10 ** 6))
    except (TypeError, ValueError):
        return 1


def tr(ctx, fields):
    """The service's field messages in the page's language."""
    return page_messages.translate_fields(fields, ctx.t, ctx.lang)


def saved(ctx, answer, message):
    """To the saved customer's page; its likely duplicates (warnings: the save has
    happened) listed under the flash, each linking to that customer."""
    dups = answer.get("duplicates") or []
    if not dups:
        return redirect(f"{BASE}/{answer['id']}", flash=ctx.t(message), kind="success")
    return redirect(f"{BASE}/{answer['id']}", kind="warning",
                    flash=ctx.t(message) + " " + ctx.t("customers.dup.warning", n=len(dups)),
                    details=duplicate_details(ctx.t, dups, BASE))


def owns(ctx, customer):
    """Only the owner sees (and may edit) a customer's contact data unmasked."""
    return (ctx.actor or {}).get("id") == customer.get("owner_id")


def is_manager(ctx):
    return ctx.is_manager  # the kit's PageContext: manager or admin


class CustomerPages:
    """Page routes mixed into CustomersGateway (``self.customers`` is its RPC proxy)."""

    web_home = BASE

    @page("GET", BASE)
    def customers_list_page(self, request):
        ctx = page_context(request)
        form = Form(request)
        manager = is_manager(ctx)
        filters = list_filters(form, manager, ctx.t)
        number = page_number(form)
        result = {"items": [], "total": 0, "page": 1, "page_size": PAGE_SIZE}
        counts = {}
        if not form.has_errors:
            try:
                result, counts = self._list_and_counts(filters, number)
            except ValidationError as exc:
                form.with_errors(tr(ctx, _list_errors(exc)))
        pages = max(1, -(-result["total"] // PAGE_SIZE))
        return render("customers/list.html", status=422 if form.has_errors else 200,
                      form=form, result=result, pages=pages, manager=manager, counts=counts,
                      types=TYPES, type_url=lambda t: f"{BASE}?{list_query(form, type=t)}",
                      sorts=SORTS, query=list_query(form),
                      page_url=lambda n: f"{BASE}?{list_query(form, page=n)}",
                      industry_options=industries.options(), owners=sorted(directory.DEV_USERS),
                      page_title=ctx.t("customers.list.title"),
                      breadcrumbs=[(ctx.t("workspace.customers"), None)])

    @page("GET", BASE + "/new")
    def customer_new_page(self, request):
        ctx = page_context(request)
        form = Form(values={"type": "potential", "primary": "0"})
        return self._form(ctx, form, None, page_forms.MIN_ROWS)

    @page("POST", BASE + "/new")
    def customer_create_page(self, request):
        ctx = page_context(request)
        form = Form(request)
        rows = page_forms.row_count(form)
        if form.value("add_row"):
            return self._form(ctx, form, None, rows + 1)
        data, positions, own = page_forms.to_data(form, rows, True, ctx.t)
        try:
            # an industry the page could not resolve leaves no industry_code: the service
            # refuses the create (nothing is written) and names the other bad fields too
            created = self.call(self.customers, "create_customer", data)
        except ValidationError as exc:
            form.with_errors(dict(tr(ctx, page_forms.page_errors(exc.fields, positions)), **own))
            return self._form(ctx, form, None, rows, status=422)
        except Conflict as exc:  # the USCC is registered already
            if not exc.fields:
                raise
            form.with_errors(tr(ctx, exc.fields))
            return self._form(ctx, form, None, rows, status=409)
        return saved(ctx, created, "customers.flash.created")

    @page("GET", BASE + "/<int:customer_id>/edit")
    @follow_merged(BASE)
    def customer_edit_page(self, request, customer_id):
        ctx = page_context(request)
        customer = self.call(self.customers, "get_customer", customer_id)
        form = page_forms.from_customer(customer)
        return self._form(ctx, form, customer, page_forms.row_count(form))

    @page("POST", BASE + "/<int:customer_id>/edit")
    @follow_merged(BASE)
    def customer_update_page(self, request, customer_id):
        """A stale ``version`` is the conflict page (409), whatever else was typed."""
        ctx = page_context(request)
        form = Form(request)
        rows = page_forms.row_count(form)
        customer = self.call(self.customers, "get_customer", customer_id)
        if form.value("add_row"):
            return self._form(ctx, form, customer, rows + 1)
        changes, positions, own = page_forms.to_data(form, rows, False, ctx.t)
        if own:  # nothing is sent while part of the form is unresolved
            form.with_errors(own)
            return self._form(ctx, form, customer, rows, status=422)
        if not owns(ctx, customer):
            changes.pop("contacts", None)  # shown masked, not editable: never saved back
        try:
            if customer["type"] == "lost":
                changes.pop("type", None)
            updated = self.call(self.customers, "update_customer", customer_id, changes)
        except ValidationError as exc:
            form.with_errors(tr(ctx, page_forms.page_errors(exc.fields, positions)))
            return self._form(ctx, form, customer, rows, status=422)
        except Conflict as exc:
            if exc.code != "DUPLICATE_USCC":
                raise  # STALE_VERSION: the conflict page
            form.with_errors(tr(ctx, exc.fields))
            return self._form(ctx, form, customer, rows, status=409)
        return saved(ctx, dict(updated, id=customer_id), "customers.saved")

    def _form(self, ctx, form, customer, rows, status=200):
        title = ctx.t("customers.edit.title") if customer else ctx.t("customers.new.title")
        crumbs = [(ctx.t("workspace.customers"), BASE)]
        if customer:
            crumbs.append((customer["name"], f"{BASE}/{customer['id']}"))
        crumbs.append((title, None))
        action = f"{BASE}/{customer['id']}/edit" if customer else f"{BASE}/new"
        return render("customers/form.html", status=status, form=form, customer=customer,
                      contacts_locked=bool(customer) and not owns(ctx, customer),
                      rows=min(rows, page_forms.MAX_ROWS), action=action, scales=SCALES,
                      industry_options=industries.options(), page_title=title,
                      breadcrumbs=crumbs)

    @page("GET", BASE + "/<int:customer_id>")
    @follow_merged(BASE)
    def customer_detail_page(self, request, customer_id):
        ctx = page_context(request)
        return self.detail(ctx, customer_id)

    def _list_and_counts(self, filters, number):
        """The page of the list, and how many customers of each type the other filters
        match ({"all"|type: (total, is_estimate)}): the type tabs' counts. With a search
        or a tag filter only the list's own total: four searches per page would cost four
        times one (bench W1: p95 over 300 ms at 100k customers)."""
        others = {k: v for k, v in filters.items() if k not in ("type", "sort")}
        calls = [("list_customers", (filters,), {"page": number, "page_size": PAGE_SIZE})]
        if COSTLY_FOR_COUNTS & set(filters):
            result = self.call(self.customers, "list_customers", filters, page=number,
                               page_size=PAGE_SIZE)
            key = filters.get("type", "all")
            return result, {key: (result["total"], bool(result.get("total_is_estimate")))}
        calls += [("list_customers", (dict(others, type=t),), {"page_size": 1}) for t in TYPES]
        if "type" in filters:
            calls.append(("list_customers", (others,), {"page_size": 1}))
        results = self.calls_side_by_side(calls)
        counts = dict(zip(TYPES, results[1:4], strict=True))
        counts["all"] = results[4] if "type" in filters else results[0]
        return results[0], {k: (r["total"], bool(r.get("total_is_estimate")))
                            for k, r in counts.items()}

    def calls_at_once(self, methods, *args):
        """The RPCs ``methods`` with the same ``args``, side by side."""
        return self.calls_side_by_side([(m, args, {}) for m in methods])

    def calls_side_by_side(self, calls):
        """[(method, args, kwargs)] side by side (each as the user): the page waits for
        the slowest, not for their sum. The first error (e.g. NotFound) is raised after
        all have ended."""
        threads = [eventlet.spawn(self.call, self.customers, m, *a, **kw) for m, a, kw in calls]
        results, errors = [], []
        for thread in threads:
            try:
                results.append(thread.wait())
            except Exception as exc:  # noqa: BLE001 - re-raised below, after the others
                errors.append(exc)
        if errors:
            raise errors[0]
        return results

    def detail(self, ctx, customer_id, form=None, status=200):
        """The detail page (also re-rendered with a form's errors by the actions)."""
        customer, attachments, history, verified = self.calls_at_once(
            ("get_customer", "list_attachments", "get_history", "verify_history"), customer_id)
        mine = owns(ctx, customer)
        return render("customers/detail.html", status=status, c=customer,
                      attachments=attachments, history=history_rows(history, ctx.t),
                      verified=verified, form=form or Form(values={}), mine=mine,
                      manager=is_manager(ctx), lost_reasons=LOST_REASONS,
                      industry=industries.label(customer["industry_code"]),
                      links=crosslinks.for_customer(ctx.config, customer["id"]),
                      owners=sorted(directory.DEV_USERS), base=BASE,
                      page_title=customer["name"],
                      breadcrumbs=[(ctx.t("workspace.customers"), BASE),
                                   (customer["name"], None)])


def _list_errors(exc):
    """A filter the service refused, on the list form's own field names."""
    names = {"tags_all": "tags", "tags_any": "tags", "industry_code": "industry"}
    return {names.get(k, k): v for k, v in (exc.fields or {}).items()}


FIELD_LABELS = {"name": "customer.name", "uscc": "customer.uscc",
                "industry_code": "customer.industry", "region": "customer.region",
                "scale": "customers.scale", "annual_budget": "customers.budget",
                "needs": "customers.needs", "source_channel": "customer.source",
                "type": "customer.type", "owner_id": "customer.owner", "tier": "customer.tier",
                "contacts": "customers.form.contacts", "tags": "customers.tags",
                "attachments": "customers.attach.title", "influence": "customers.influence",
                "lost_reason": "customers.lost.reason", "lost_note": "customers.lost.note",
                "cooperation_since": "customers.cooperation_since",
                "merged_from": "customers.history.merged_from",
                "merged_into": "customers.history.merged_into"}
VALUE_KEYS = {"type": "customer.type.", "tier": "customer.tier.", "scale": "customers.scale.",
              "lost_reason": "customers.lost.reason."}


def show_value(value, t=None, field=None):
    """A logged value as text: contacts as 'name (title, mobile)' (masked in the log),
    coded values (type, tier, scale, lost reason) in words."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, list):
        return "; ".join(show_value(v, t, field) for v in value)
    if isinstance(value, dict):
        if "name" in value:
            extra = ", ".join(str(value[k]) for k in ("title", "mobile", "email")
                              if value.get(k))
            primary = " ★" if value.get("is_primary") else ""
            return f"{value['name']}{primary}" + (f" ({extra})" if extra else "")
        return ", ".join(f"{k}={show_value(v)}" for k, v in value.items())
    if t is not None and field in VALUE_KEYS:
        key = VALUE_KEYS[field] + str(value)
        shown = t(key)
        return str(value) if shown == key else shown
    return str(value)


def history_rows(history, t=None):
    """The log newest first, each entry with its changed fields as rows of text
    (fields by their form labels; a field empty before and after is left out)."""
    out = []
    for entry in reversed(history):
        rows = []
        for ch in entry.get("changes") or ():
            field = ch.get("field", "")
            before = show_value(ch.get("before"), t, field)
            after = show_value(ch.get("after"), t, field)
            if not before and not after:
                continue
            label = t(FIELD_LABELS[field]) if t and field in FIELD_LABELS else field
            rows.append({"field": label, "before": before, "after": after})
        action = str(entry.get("action") or "")
        label = t("customers.action." + action) if t else action
        out.append(dict(entry, rows=rows or [{"field": "", "before": "", "after": ""}],
                        action_label=action if label == "customers.action." + action
                        else label))  # an action without a label: its name
    return out
