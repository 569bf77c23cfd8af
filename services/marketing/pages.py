"""The marketing workspace (8004): campaign list by state, the campaign form
(plan, audience rules with a live count, milestones) and the campaign page.

Pages call the same RPCs as the JSON routes, as the signed-in user. State
changes, participants, feedback and leads are in ``page_actions.py``; exports
and the evaluation chart in ``page_export.py``.
"""
import datetime as dt
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from services.common.errors import ValidationError
from services.common.web import directory
from services.common.web.forms import Form
from services.common.web.pages import page, page_context, redirect, render
from services.marketing import domain, page_owners
from services.marketing.page_messages import errors

BASE = "/app/campaigns"
PAGE_SIZE = 25
MILESTONE_ROWS = 3
AUDIENCE_TEXT = ("region", "industry_code")
AUDIENCE_CHOICE = ("type", "tier")


def tz(config):
    return ZoneInfo((config or {}).get("CRM_TIMEZONE") or "Asia/Shanghai")


def local_input(value, config):
    """ISO (UTC) → the value of a datetime-local input in the company's time zone."""
    if not value:
        return ""
    when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when.astimezone(tz(config)).strftime("%Y-%m-%dT%H:%M")


def aware(value, config):
    """A datetime-local input (company time zone) → ISO with offset; anything else is
    passed on for the service to name as invalid."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=tz(config)).isoformat()
    except ValueError:
        return value


def tags(value):
    return [t.strip() for t in str(value or "").replace("，", ",").split(",") if t.strip()]


def audience_of(form):
    rules = {}
    for key in ("tags_all", "tags_any"):
        if tags(form.value(f"audience.{key}")):
            rules[key] = tags(form.value(f"audience.{key}"))
    for key in AUDIENCE_CHOICE + AUDIENCE_TEXT:
        value = (form.value(f"audience.{key}") or "").strip()
        if value:
            rules[key] = value
    return rules


def campaign_data(form, config, with_milestones=True):
    data = {"theme": (form.value("theme") or "").strip(), "audience": audience_of(form)}
    for key in ("goal", "location", "format", "owner_id", "budget"):
        value = (form.value(key) or "").strip()
        if value:
            data[key] = value
    for key in ("starts_at", "ends_at"):
        data[key] = aware(form.value(key), config)
    if with_milestones:
        rows = []
        for i in range(milestone_rows(form)):
            row = {k: (form.value(f"milestones.{i}.{k}") or "").strip()
                   for k in ("title", "owner_id", "due_date")}
            if any(row.values()):
                rows.append(row)
        data["milestones"] = rows
    return data


def milestone_rows(form):
    try:
        return max(MILESTONE_ROWS, min(int(form.value("milestone_rows") or 0), 50))
    except ValueError:
        return MILESTONE_ROWS


def form_of(campaign, config):
    values = {k: campaign.get(k) or "" for k in ("theme", "goal", "location", "format",
                                                 "owner_id", "budget")}
    values["starts_at"] = local_input(campaign.get("starts_at"), config)
    values["ends_at"] = local_input(campaign.get("ends_at"), config)
    for key, value in (campaign.get("audience") or {}).items():
        values[f"audience.{key}"] = ", ".join(value) if isinstance(value, list) else value
    values["version"] = campaign.get("version")
    return Form(values=values)


def audience_text(audience, t):
    """The audience rules in words: 标签（全部）: 老客户；客户等级: 重点客户."""
    parts = []
    for key in ("tags_all", "tags_any", "type", "tier", "region", "industry_code"):
        value = (audience or {}).get(key)
        if not value:
            continue
        if key == "type":
            value = t(f"customer.type.{value}")
        elif key == "tier":
            value = t(f"customer.tier.{value}")
        elif isinstance(value, list):
            value = "、".join(value)
        parts.append(f"{t('mk.audience.' + key)}：{value}")
    return "；".join(parts)


def who(user_id):
    """An owner's display name (the directory's), else the id; "—" for none."""
    if not user_id:
        return "—"
    return directory.display_name({"id": user_id})


def milestone_owners(ctx, campaign):
    """Whom a milestone of ``campaign`` may be given to, by name (its owners so far
    included)."""
    return page_owners.people(ctx, campaign.get("owner_id"),
                              *[m.get("owner_id") for m in campaign.get("milestones") or []])


def choices(t):
    return {"who": who,
            "formats": [(f, t(f"mk.format.{f}")) for f in domain.FORMATS],
            "states": [(s, t(f"mk.state.{s}")) for s in domain.STATES],
            "types": [(v, t(f"customer.type.{v}")) for v in domain.CUSTOMER_TYPES],
            "tiers": [(v, t(f"customer.tier.{v}")) for v in domain.TIERS]}


class CampaignPages:
    """List, form and campaign page (mixed into MarketingGateway)."""

    web_home = BASE

    @page("GET", BASE)
    def campaigns_page(self, request):
        ctx = page_context(request)
        form = Form(request)
        filters = {k: form.value(k).strip() for k in ("state", "format", "q")
                   if (form.value(k) or "").strip()}
        customer = (form.value("customer_id") or "").strip()
        if customer:  # from the customer page: the campaigns it took part in / was targeted by
            filters["customer_id"] = int(customer) if customer.isdigit() else customer
        try:
            number = max(1, min(int(form.value("page") or 1), 10 ** 6))
        except ValueError:
            number = 1
        cursor = (form.value("cursor") or "").strip()[:2000] or None
        try:
            result = self.call(self.marketing, "list_campaigns", filters,
                               page=1 if cursor else number, page_size=PAGE_SIZE,
                               cursor=cursor)
        except ValidationError as exc:
            form.with_errors(errors(ctx, exc))
            result = {"items": [], "total": 0, "page": 1, "page_size": PAGE_SIZE}
        counts = self.call(self.marketing, "campaign_counts")
        pages = max(1, -(-result["total"] // PAGE_SIZE))
        # a long list (capped total) pages by cursor, as the tickets queue: "next" reads
        # on from the last campaign shown and never re-reads what came before
        cursor_mode = bool(cursor or result.get("total_is_estimate"))

        def page_url(n):
            return f"{BASE}?{urlencode(dict(filters, page=n))}"

        def cursor_url(c):
            return f"{BASE}?{urlencode(dict(filters, cursor=c))}"

        return render("marketing/list.html", status=422 if form.has_errors else 200, form=form,
                      result=result, counts=counts, pages=pages, page_url=page_url,
                      cursor_url=cursor_url, cursor_mode=cursor_mode, first_url=page_url(1),
                      current=filters.get("state"), **choices(ctx.t),
                      page_title=ctx.t("mk.list.title"),
                      breadcrumbs=[(ctx.t("workspace.marketing"), None)])

    # --- the form ----------------------------------------------------------------------
    def _form(self, ctx, form, campaign=None, status=200, count=None):
        title = ctx.t("mk.form.edit") if campaign else ctx.t("mk.form.new")
        owner = (campaign or {}).get("owner_id")
        return render("marketing/form.html", status=status, form=form, campaign=campaign,
                      rows=milestone_rows(form), count=count,
                      owners=page_owners.campaign_owners(ctx, owner),
                      milestone_owners=page_owners.people(ctx), **choices(ctx.t),
                      page_title=title,
                      breadcrumbs=[(ctx.t("workspace.marketing"), BASE), (title, None)])

    def _count(self, ctx, form):
        try:
            return self.call(self.marketing, "audience_count", audience_of(form))
        except ValidationError as exc:
            form.with_errors({"audience": errors(ctx, exc)})
            return None

    @page("GET", BASE + "/new")
    def campaign_new_page(self, request):
        ctx = page_context(request)
        form = Form(values={"format": "salon", "owner_id": (ctx.actor or {}).get("id", "")})
        return self._form(ctx, form)

    @page("GET", BASE + "/audience-count")
    def audience_count_page(self, request):
        """The live count (the form's script asks as you type; JSON for it)."""
        from services.common.gateway import json_response
        form = Form(request)
        try:
            return json_response(200, self.call(self.marketing, "audience_count",
                                                audience_of(form)))
        except ValidationError as exc:
            return json_response(422, exc.to_dict())

    @page("POST", BASE + "/new")
    def campaign_create_page(self, request):
        ctx = page_context(request)
        form = Form(request)
        if form.value("count") or form.value("add_row"):
            if form.value("add_row"):
                form.values["milestone_rows"] = str(milestone_rows(form) + 1)
            return self._form(ctx, form, count=self._count(ctx, form))
        # no owner posted: the service makes the signed-in user the owner (the select's
        # default), so only an owner nobody listed is refused here
        ok = page_owners.check(form, "owner_id", page_owners.campaign_owners(ctx), ctx.t,
                               required=False)
        listed = page_owners.people(ctx)
        for i in range(milestone_rows(form)):
            ok = page_owners.check(form, f"milestones.{i}.owner_id", listed, ctx.t,
                                   required=False) and ok
        if not ok:  # an id nobody listed: refused next to its field, nothing called
            return self._form(ctx, form, status=422)
        try:
            created = self.call(self.marketing, "create_campaign",
                                campaign_data(form, ctx.config))
        except ValidationError as exc:
            form.with_errors(errors(ctx, exc))
            return self._form(ctx, form, status=422)
        return redirect(f"{BASE}/{created['id']}", flash=ctx.t("mk.flash.created"),
                        kind="success")

    @page("GET", BASE + "/<int:campaign_id>/edit")
    def campaign_edit_page(self, request, campaign_id):
        ctx = page_context(request)
        campaign = self.call(self.marketing, "get_campaign", campaign_id)
        return self._form(ctx, form_of(campaign, ctx.config), campaign)

    @page("POST", BASE + "/<int:campaign_id>/edit")
    def campaign_update_page(self, request, campaign_id):
        ctx = page_context(request)
        form = Form(request)
        campaign = self.call(self.marketing, "get_campaign", campaign_id)
        if form.value("count"):
            return self._form(ctx, form, campaign, count=self._count(ctx, form))
        if not page_owners.check(form, "owner_id",
                                 page_owners.campaign_owners(ctx, campaign.get("owner_id")),
                                 ctx.t):
            return self._form(ctx, form, campaign, status=422)
        changes = campaign_data(form, ctx.config, with_milestones=False)
        if changes.get("owner_id") == campaign.get("owner_id"):
            changes.pop("owner_id")  # unchanged: not a hand-over (staff may not hand over)
        if (form.value("version") or "").isdigit():
            changes["version"] = int(form.value("version"))
        if campaign["state"] not in ("draft", "scheduled"):  # only the cost may change
            changes = {k: v for k, v in changes.items() if k == "version"}
        cost = (form.value("cost") or "").strip()
        if cost:
            changes["cost"] = cost
        try:
            self.call(self.marketing, "update_campaign", campaign_id, changes)
        except ValidationError as exc:
            form.with_errors(errors(ctx, exc))
            return self._form(ctx, form, campaign, status=422)
        return redirect(f"{BASE}/{campaign_id}", flash=ctx.t("mk.flash.saved"), kind="success")

    # --- the campaign page -------------------------------------------------------------
    def campaign_view(self, ctx, campaign_id, form=None, status=200, found=None):
        campaign = self.call(self.marketing, "get_campaign", campaign_id)
        participants = self.call(self.marketing, "list_participants", campaign_id, 1, 100)
        evaluation = self.call(self.marketing, "evaluate_campaign", campaign_id)
        from services.marketing.page_export import evaluation_chart
        me = (ctx.actor or {}).get("id")
        form = form or Form(values={})
        if not form.value("milestone.owner_id"):
            form.values["milestone.owner_id"] = me  # the add-milestone list starts on me
        today = dt.datetime.now(tz(ctx.config)).date().isoformat()
        return render("marketing/campaign.html", status=status, campaign=campaign,
                      audience_text=audience_text(campaign.get("audience"), ctx.t),
                      participants=participants, evaluation=evaluation,
                      chart=evaluation_chart(evaluation, ctx.t), form=form,
                      milestone_owners=milestone_owners(ctx, campaign),
                      found=found or [], me=me, today=today, **choices(ctx.t),
                      page_title=campaign["theme"],
                      breadcrumbs=[(ctx.t("workspace.marketing"), BASE),
                                   (campaign["theme"], None)])

    @page("GET", BASE + "/<int:campaign_id>")
    def campaign_page(self, request, campaign_id):
        ctx = page_context(request)
        form = Form(request)
        found = []
        q = (form.value("customer_q") or "").strip()
        if q:
            try:
                found = self.call(self.marketing, "find_customers", q[:100], 10)
            except ValidationError as exc:
                form.with_errors({"customer_q": list(errors(ctx, exc).values())[0]})
        return self.campaign_view(ctx, campaign_id, form=form, found=found)
