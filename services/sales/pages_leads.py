"""Leads: list (filters, search, paging, exports), create, detail with assignment
(managers: by rules or to a person), conversion to an opportunity (customer fields for
a prospect, errors next to each field) and disqualification; the assignment rules page."""
from services.common.errors import Conflict, ValidationError
from services.common.web.forms import Form
from services.common.web.pages import page, page_context, redirect
from services.sales.customer_messages import conversion_fields
from services.sales.pages_base import (
    LEAD_STATUSES,
    PAGE_SIZE,
    PRICE_POSITIONS,
    SOURCES,
    SalesPageBase,
    is_manager,
    labelled,
    page_number,
    pages_for,
    query,
    staff_options,
)

LEAD_KEYS = ("q", "source", "status", "region", "industry_code", "owner_id", "unassigned")


def lead_filters(form, manager):
    out = {k: form.value(k).strip() for k in ("q", "source", "status", "region",
                                               "industry_code") if form.value(k).strip()}
    if manager and form.value("owner_id").strip():
        out["owner_id"] = form.value("owner_id").strip()
    if manager and form.value("unassigned") == "1":
        out["unassigned"] = True
    return out


def lead_input(form):
    data = form.nested()
    for key in ("customer_id",):
        if key in data:
            try:
                data[key] = int(data[key])
            except (TypeError, ValueError):
                raise ValidationError("Invalid input", {key: ["must be a number"]}) from None
    return data


def convert_input(form):
    """The conversion form → convert_lead's opportunity (competitor rows without a name
    are left out; customer.* only for a prospect)."""
    data = form.nested()
    data["competitors"] = [c for c in data.get("competitors") or [] if c.get("name")]
    data["customer"] = data.get("customer") or {}
    return data


class LeadPages(SalesPageBase):
    @page("GET", "/app/leads")
    def leads_page(self, request):
        ctx = page_context(request)
        form, manager = Form(request), is_manager(ctx)
        number = page_number(form)
        try:
            result = self.call(self.sales, "list_leads", lead_filters(form, manager),
                               page=number, page_size=PAGE_SIZE)
        except ValidationError as exc:
            form.with_errors(exc)
            result = {"items": [], "total": 0}
        return self.sales_page(
            request, "sales/leads.html", form=form, result=result, page_no=number,
            pages=pages_for(result, number), sources=SOURCES, statuses=LEAD_STATUSES,
            staff=staff_options(), query=query(form, LEAD_KEYS),
            page_url=lambda n: "/app/leads?" + query(form, LEAD_KEYS, page=n),
            page_title=ctx.t("sales.leads.title"))

    def _new_lead_context(self, request):
        ctx = page_context(request)
        return {"sources": SOURCES, "staff": staff_options(), "opts": labelled(request),
                "manager": is_manager(ctx), "page_title": ctx.t("sales.leads.new")}

    @page("GET", "/app/leads/new")
    def new_lead_page(self, request):
        return self.sales_page(request, "sales/lead_new.html", form=Form(values={}),
                               **self._new_lead_context(request))

    @page("POST", "/app/leads/new", form_template="sales/lead_new.html",
          form_context=lambda self, request: self._new_lead_context(request))
    def create_lead_page(self, request):
        lead = self.call(self.sales, "create_lead", lead_input(Form(request)))
        return redirect(f"/app/leads/{lead['id']}",
                        flash=page_context(request).t("sales.lead.created"), kind="success")

    def _lead_page(self, request, lead_id, status=200, **forms):
        lead = self.call(self.sales, "get_lead", lead_id)
        ctx = page_context(request)
        rules = None
        if is_manager(ctx) and lead["status"] in ("new", "following_up"):
            rules = self.call(self.sales, "get_assignment_rules")["rules"]
        return self.sales_page(
            request, "sales/lead.html", status=status, lead=lead, rules=rules,
            staff=staff_options(), price_positions=PRICE_POSITIONS,
            convert_form=forms.get("convert") or Form(values={}),
            assign_form=forms.get("assign") or Form(values={}),
            disqualify_form=forms.get("disqualify") or Form(values={}),
            page_title=lead["customer_name"])

    @page("GET", "/app/leads/<int:lead_id>")
    def lead_page(self, request, lead_id):
        return self._lead_page(request, lead_id)

    @page("POST", "/app/leads/<int:lead_id>/assign")
    def assign_lead_page(self, request, lead_id):
        form = Form(request)
        owner = form.value("owner_id").strip() or None
        try:
            lead = self.call(self.sales, "assign_lead", lead_id, owner)
        except (ValidationError, Conflict) as exc:
            return self._lead_page(request, lead_id, 422 if isinstance(exc, ValidationError)
                                   else 409, assign=form.with_errors(
                                       exc.fields or {"owner_id": [exc.message]}))
        t = page_context(request).t
        return redirect(f"/app/leads/{lead_id}", flash=t("sales.lead.assigned",
                                                        owner=lead["owner_id"]),
                        kind="success")

    @page("POST", "/app/leads/<int:lead_id>/convert")
    def convert_lead_page(self, request, lead_id):
        form = Form(request)
        try:
            out = self.call(self.sales, "convert_lead", lead_id, convert_input(form))
        except ValidationError as exc:
            fields = conversion_fields(exc.fields, page_context(request))
            return self._lead_page(request, lead_id, 422,
                                   convert=form.with_errors(fields or exc))
        opp = out["opportunity"]
        return redirect(f"/app/opportunities/{opp['id']}",
                        flash=page_context(request).t("sales.lead.converted"), kind="success")

    @page("POST", "/app/leads/<int:lead_id>/disqualify")
    def disqualify_lead_page(self, request, lead_id):
        form = Form(request)
        try:
            self.call(self.sales, "disqualify_lead", lead_id, form.value("reason").strip())
        except ValidationError as exc:
            return self._lead_page(request, lead_id, 422, disqualify=form.with_errors(exc))
        except Conflict as exc:  # converted meanwhile (the form was open): back to the
            # lead, which says why in the page's language, as the order actions do (not
            # the kit's "someone else changed this record" page)
            return redirect(f"/app/leads/{lead_id}", kind="error",
                            flash=page_context(request).message(exc.message))
        return redirect(f"/app/leads/{lead_id}",
                        flash=page_context(request).t("sales.lead.disqualified"))
