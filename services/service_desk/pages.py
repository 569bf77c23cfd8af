"""The service desk workspace (8003): the queue, a new ticket, the ticket page.

Every page calls the same RPCs as the JSON routes, as the signed-in user: staff
see the tickets assigned to them and the ones they opened (someone else's ticket
is the 404 page), managers all. Actions on a ticket are in ``page_actions.py``;
care, surveys and root causes in ``page_care.py``; FAQ (staff and public) and the
customer's survey page in ``page_public.py``.
"""
import datetime as dt
from urllib.parse import urlencode

from services.common.errors import NotFound, ValidationError
from services.common.web import directory
from services.common.web.forms import Form
from services.common.web.pages import page, page_context, redirect, render
from services.service_desk import queue
from services.service_desk.domain import CHANNELS, KINDS, ROOT_CAUSES, SEVERITIES, STATUSES
from services.service_desk.page_messages import errors
from services.service_desk.schemas import DEPARTMENTS

BASE = "/app/tickets"
PAGE_SIZE = 25
LIST_KEYS = ("view", "q", "kind", "severity", "status", "customer_id", "assignee_id", "page",
             "cursor")


def is_manager(ctx):
    return ctx.is_manager  # the kit's PageContext: manager or admin


def page_number(form):
    try:
        return max(1, min(int(form.value("page") or 1), 10 ** 6))
    except (TypeError, ValueError):
        return 1


def _parse(value):
    if not value:
        return None
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _span(delta, t):
    """'2 h 05 min' style, localised."""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return t("sd.span.dh", d=days, h=hours)
    if hours:
        return t("sd.span.hm", h=hours, m=mins)
    return t("sd.span.m", m=mins)


def clocks(ticket, now, t):
    """The two SLA clocks of a ticket as the queue and the ticket page show them:
    [(name, state, due_at, text)], state per ``queue.clock_state``."""
    out = []
    pairs = (("first_response", ticket["first_response_due_at"], ticket["first_responded_at"]),
             ("resolution", ticket["resolution_due_at"], ticket["resolved_at"]))
    for name, due, done in pairs:
        due_at, done_at = _parse(due), _parse(done)
        state = queue.clock_state(due_at, done_at, now)
        if state in ("running", "amber"):
            text = t("sd.clock.left", span=_span(due_at - now, t))
        elif state == "breached":
            text = t("sd.clock.over", span=_span(now - due_at, t))
        elif state == "late":
            text = t("sd.clock.late", span=_span(done_at - due_at, t))
        else:
            text = t("sd.clock.done")
        out.append({"name": name, "state": state, "due_at": due, "text": text})
    return out


def row_state(ticket_clocks, status):
    """'breached' (red), 'amber' (due within the hour) or '' for a queue row."""
    if status not in queue.ACTIVE:
        return ""
    states = {c["state"] for c in ticket_clocks}
    if "breached" in states:
        return "breached"
    if "amber" in states:
        return "amber"
    return ""


def queue_filters(form, manager):
    filters = {"sort": "due"}
    for key in ("kind", "severity", "status"):
        value = (form.value(key) or "").strip()
        if value:
            filters[key] = value
    q = (form.value("q") or "").strip()
    if q:
        filters["q"] = q[:100]
    customer = (form.value("customer_id") or "").strip()
    if customer:
        filters["customer_id"] = customer
    if manager and form.value("view") != "all":
        filters["mine"] = True
    assignee = (form.value("assignee_id") or "").strip()
    if manager and assignee:  # one agent's tickets (the dashboard's scorecard rows link here)
        filters["assignee_id"] = assignee[:64]
    return filters


def who(user_id):
    """A staff member's display name (the directory's), else the id."""
    if not user_id:
        return "—"
    return directory.display_name({"id": user_id})


def people(t, roster=None):
    """``who(user_id)`` for a page: the directory's name, else the service roster's
    (``list_agents``), ``system`` as 系统, else the id."""
    names = {a["agent_id"]: a.get("name") for a in roster or () if a.get("name")}

    def name_of(user_id):
        if not user_id:
            return "—"
        if user_id == "system":
            return t("sd.who.system")
        entry = directory.DEV_USERS.get(user_id)
        if entry:
            return entry["name"]
        return names.get(user_id) or user_id

    return name_of


def options(t, prefix, values):
    return [(v, t(f"{prefix}.{v}")) for v in values]


def choices(t):
    return {"kinds": options(t, "sd.kind", KINDS),
            "severities": options(t, "sd.severity", SEVERITIES),
            "statuses": options(t, "sd.status", STATUSES),
            "channels": options(t, "sd.channel", CHANNELS),
            "root_causes": options(t, "sd.root_cause", ROOT_CAUSES),
            "departments": options(t, "sd.department", DEPARTMENTS)}


class TicketPages:
    """Queue, new ticket and ticket page (mixed into ServiceDeskGateway)."""

    web_home = BASE

    @page("GET", BASE)
    def queue_page(self, request):
        ctx = page_context(request)
        form = Form(request)
        manager = is_manager(ctx)
        if manager and not form.value("view"):  # a customer's tickets: everyone's
            form.values["view"] = "all" if form.value("customer_id") else "mine"
        number = page_number(form)
        cursor = (form.value("cursor") or "").strip()[:2000] or None
        try:
            result = self.call(self.desk, "list_tickets", queue_filters(form, manager),
                               page=1 if cursor else number, page_size=PAGE_SIZE,
                               cursor=cursor)
        except ValidationError as exc:
            form.with_errors(errors(ctx, exc))
            result = {"items": [], "total": 0, "page": 1, "page_size": PAGE_SIZE}
        now = dt.datetime.now(dt.UTC)
        rows = []
        for ticket in result["items"]:
            cl = clocks(ticket, now, ctx.t)
            rows.append({"ticket": ticket, "clocks": cl,
                         "state": row_state(cl, ticket["status"])})
        pages = max(1, -(-result["total"] // PAGE_SIZE))
        # a long queue (capped total) pages by cursor: "next" never re-reads what came before
        cursor_mode = bool(cursor or result.get("total_is_estimate"))

        def page_url(n):
            args = {k: form.value(k) for k in LIST_KEYS if form.value(k) and k != "cursor"}
            args["page"] = n
            return f"{BASE}?{urlencode(args)}"

        def cursor_url(c):
            args = {k: form.value(k) for k in LIST_KEYS if form.value(k) and k != "page"}
            args["cursor"] = c
            return f"{BASE}?{urlencode(args)}"

        # filters in names: one customer's tickets (the customer page links here) say
        # whose; managers pick an agent from the roster, never type an employee id
        roster = self.call(self.desk, "list_agents") if manager else []
        name = people(ctx.t, roster)
        agents = [(a["agent_id"], name(a["agent_id"])) for a in roster]
        chosen = (form.value("assignee_id") or "").strip()
        if chosen and chosen not in {a for a, _ in agents}:
            agents.append((chosen, name(chosen)))
        customer = None
        if form.value("customer_id"):
            named = next((r["ticket"].get("customer_name") for r in rows
                          if r["ticket"].get("customer_name")), None)
            clear = {k: form.value(k) for k in LIST_KEYS
                     if form.value(k) and k not in ("customer_id", "page", "cursor")}
            customer = {"name": named, "clear_url": f"{BASE}?{urlencode(clear)}"}

        return render("service_desk/queue.html", status=422 if form.has_errors else 200,
                      form=form, rows=rows, result=result, pages=pages, manager=manager,
                      page_url=page_url, cursor_url=cursor_url, cursor_mode=cursor_mode,
                      first_url=page_url(1), now=now, who=name, agents=agents,
                      customer=customer, **choices(ctx.t),
                      page_title=ctx.t("sd.queue.title"),
                      breadcrumbs=[(ctx.t("workspace.service_desk"), None)])

    # --- new ticket -------------------------------------------------------------------
    def _new_form(self, ctx, form, status=200):
        q = (form.value("customer_q") or "").strip()
        found, picked = [], None
        if q:
            try:
                found = self.call(self.desk, "search_customers", q[:100], 10)
            except ValidationError as exc:
                form.with_errors({"customer_q": list(errors(ctx, exc).values())[0]})
        chosen = (form.value("customer_id") or "").strip()
        if chosen and chosen.isdigit():
            picked = next((c for c in found if str(c["id"]) == chosen), None)
            if picked is None:
                picked = {"id": int(chosen), "name": form.value("customer_name") or chosen,
                          "contact": form.value("customer_contact") or ""}
        return render("service_desk/new.html", status=status, form=form, found=found,
                      picked=picked, **choices(ctx.t), page_title=ctx.t("sd.new.title"),
                      breadcrumbs=[(ctx.t("workspace.service_desk"), BASE),
                                   (ctx.t("sd.new.title"), None)])

    @page("GET", BASE + "/new")
    def new_ticket_page(self, request):
        ctx = page_context(request)
        form = Form(request)
        form.values.setdefault("kind", "complaint")
        form.values.setdefault("severity", "medium")
        form.values.setdefault("channel", "phone")
        return self._new_form(ctx, form)

    @page("POST", BASE + "/new")
    def create_ticket_page(self, request):
        ctx = page_context(request)
        form = Form(request)
        data = {k: (form.value(k) or "").strip() for k in (
            "kind", "severity", "channel", "complainant_name", "complainant_contact",
            "subject", "description", "category")}
        data = {k: v for k, v in data.items() if v}
        customer = (form.value("customer_id") or "").strip()
        if not customer:
            form.add_error("customer_id", ctx.t("sd.new.pick_customer"))
        elif not customer.isdigit():
            form.add_error("customer_id", ctx.t("sd.new.pick_customer"))
        else:
            data["customer_id"] = int(customer)
        if form.has_errors:
            return self._new_form(ctx, form, 422)
        try:
            created = self.call(self.desk, "open_ticket", data)
        except ValidationError as exc:
            form.with_errors(errors(ctx, exc))
            return self._new_form(ctx, form, 422)
        return redirect(f"{BASE}/{created['id']}", flash=ctx.t("sd.flash.opened",
                                                                 id=created["id"]),
                        kind="success")

    # --- ticket page --------------------------------------------------------------------
    def ticket_view(self, ctx, ticket_id, form=None, status=200, link=None):
        ticket = self.call(self.desk, "get_ticket", ticket_id)
        survey = None
        if ticket["status"] in ("resolved", "closed"):
            try:
                survey = self.call(self.desk, "get_survey", ticket_id)
            except NotFound:  # no survey yet
                survey = None
        survey_mail = None  # the survey link's mail to the customer (notify_survey)
        if ticket["status"] in ("resolved", "closed") and survey is None:
            survey_mail = self.call(self.desk, "survey_mail_status", ticket_id)
        agents = []
        manager = is_manager(ctx)
        if manager:
            agents = self.call(self.desk, "list_agents")
        me = (ctx.actor or {}).get("id")
        can_act = manager or ticket["assignee_id"] == me
        now = dt.datetime.now(dt.UTC)
        return render("service_desk/ticket.html", status=status, ticket=ticket,
                      clocks=clocks(ticket, now, ctx.t), survey=survey, agents=agents,
                      manager=manager, can_act=can_act, form=form or Form(values={}),
                      link=link, who=people(ctx.t, agents), survey_mail=survey_mail,
                      **choices(ctx.t),
                      page_title=ctx.t("sd.ticket.title", id=ticket["id"]),
                      breadcrumbs=[(ctx.t("workspace.service_desk"), BASE),
                                   (ctx.t("sd.ticket.title", id=ticket["id"]), None)])

    @page("GET", BASE + "/<int:ticket_id>")
    def ticket_page(self, request, ticket_id):
        return self.ticket_view(page_context(request), ticket_id)
