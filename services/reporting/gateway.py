"""reporting_gateway: the managers' HTTP API and dashboard (port 8005).

JSON endpoints take the usual bearer token. The HTML dashboard is a page in the
kit's layout (``templates/reporting/``) with the kit's sign-in (``/login``, the
``crm_token`` session cookie shared by every workspace); a browser without a valid
session is sent to ``/login``. ``?token=`` and a bearer header still work (the
token kept in the same HttpOnly, SameSite=Strict cookie); the language follows the
kit's ``crm_lang`` cookie. Staff get 403 on the dashboard (the reporting service
refuses) and see their own scorecard on ``/app/scorecard``; managers see anyone's
on ``/app/scorecards/<employee_id>``. Every tile and row links to the list behind
it through ``/app/open/<workspace>?to=<path>`` (303 to the configured workspace).
"""
import datetime as dt
import logging
import re
from urllib.parse import urlencode

from marshmallow import Schema, fields
from werkzeug.wrappers import Response

from services.common.auth import verify_token
from services.common.errors import CrmError, Unauthorized
from services.common.gateway import GatewayBase, json_body, query_int, route, rpc
from services.common.openapi import build_spec
from services.common.web import directory, page, page_context, redirect, render
from services.common.web.pages import PageContext, wants_html
from services.common.web.session import SESSION_COOKIE as COOKIE
from services.common.web.session import clear_session_cookie, set_session_cookie
from services.reporting import dashboard, domain
from services.reporting.exceptions import Forbidden
from services.reporting.schemas import (
    CampaignReportSchema,
    FreshnessSchema,
    KpisSchema,
    ScorecardSchema,
    StaffDepartmentSchema,
    TargetsInSchema,
    WatchPageSchema,
)

log = logging.getLogger(__name__)
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
KPI_QUERY = {"period": "string", "owner_id": "string", "department": "string"}


class RebuildSchema(Schema):
    events = fields.Integer()
    entities = fields.Integer()


def _scope(request):
    scope = {k: request.args[k] for k in ("owner_id", "department") if request.args.get(k)}
    return scope or None


def _name(employee_id):
    return directory.display_name({"id": employee_id})


def _periods(month):
    """'2026-11' -> the month, its quarter and its year (the scorecard page's columns)."""
    year, m = month.split("-")
    return (("month", month), ("quarter", f"{year}-Q{(int(m) - 1) // 3 + 1}"), ("year", year))


def _local_target(to):
    """A workspace-relative list path (/app/...), else None: never another host."""
    if not isinstance(to, str) or not to.startswith("/app/") or "//" in to or "\\" in to:
        return None
    if any(ord(ch) < 0x21 for ch in to):
        return None
    return to


class ReportingGateway(GatewayBase):
    name = "reporting_gateway"
    web_home = "/dashboard"
    reporting = rpc("reporting")

    def _period(self, request):
        tz = self.container_config.get("CRM_TIMEZONE") or domain.DEFAULT_TZ
        return request.args.get("period") or domain.current_period(
            dt.datetime.now(dt.UTC), tz)

    @route("GET", "/openapi.json", auth=False, summary="This API as OpenAPI 3")
    def openapi(self, request):
        return build_spec(ReportingGateway, "Kehu CRM reporting API",
                          description="Cross-department KPIs (shared/KPIS.md), scorecards, "
                                      "churn watchlist, campaign reports and the managers' "
                                      "dashboard. Managers and admins only.")

    # --- JSON ------------------------------------------------------------------------------
    @route("GET", "/kpis", summary="KPIs of a period (company, owner or department)",
           query=KPI_QUERY, response=KpisSchema, tags=["kpis"])
    def get_kpis(self, request):
        return self.call(self.reporting, "get_kpis", self._period(request), _scope(request))

    @route("GET", "/kpis.csv", summary="KPIs of a period as CSV", query=KPI_QUERY,
           tags=["kpis"], media="text/csv")
    def kpis_csv(self, request):
        text = self.call(self.reporting, "export_csv", self._period(request), _scope(request))
        return Response(text, mimetype="text/csv", headers={
            "Content-Disposition": f"attachment; filename=kpis-{self._period(request)}.csv"})

    @route("GET", "/kpis/by-source", summary="Sales channel KPIs of a period by lead source "
           "and campaign (same figures as sales' GET /channel-analysis)",
           query={"period": "string"}, tags=["kpis"])
    def kpis_by_source(self, request):
        return self.call(self.reporting, "kpis_by_source", self._period(request))

    @route("GET", "/trend", summary="Monthly KPIs of the months ending with the period",
           query=dict(KPI_QUERY, months="integer"), tags=["kpis"])
    def trend(self, request):
        return self.call(self.reporting, "trend", self._period(request), _scope(request),
                         query_int(request, "months", 12))

    @route("GET", "/freshness", summary="Outbox-to-KPI lag", response=FreshnessSchema,
           tags=["kpis"])
    def freshness(self, request):
        return self.call(self.reporting, "freshness")

    @route("GET", "/scorecards", summary="Scorecards of every sales and service employee",
           query={"period": "string"}, response=ScorecardSchema(many=True), tags=["scorecards"])
    def scorecards(self, request):
        return self.call(self.reporting, "scorecards", self._period(request))

    @route("GET", "/scorecards/<employee_id>", summary="One employee's scorecard",
           query={"period": "string", "role": "string"}, response=ScorecardSchema,
           tags=["scorecards"])
    def scorecard(self, request, employee_id):
        return self.call(self.reporting, "scorecard", employee_id, self._period(request),
                         request.args.get("role") or None)

    @route("GET", "/scorecard-targets", summary="Effective targets and weights",
           query={"employee_id": "string"}, tags=["scorecards"])
    def get_targets(self, request):
        return self.call(self.reporting, "get_scorecard_targets",
                         request.args.get("employee_id") or None)

    @route("PUT", "/scorecard-targets", summary="Set targets and weights (managers)",
           body=TargetsInSchema, tags=["scorecards"])
    def set_targets(self, request):
        body = json_body(request)
        return self.call(self.reporting, "set_scorecard_targets", body.get("targets"),
                         body.get("employee_id"))

    @route("GET", "/staff", summary="Employees and their departments",
           query={"department": "string"}, tags=["scorecards"])
    def list_staff(self, request):
        return self.call(self.reporting, "list_staff", request.args.get("department") or None)

    @route("PUT", "/staff/<employee_id>", summary="Place an employee in a department",
           body=StaffDepartmentSchema, tags=["scorecards"])
    def set_staff(self, request, employee_id):
        return self.call(self.reporting, "set_staff_department", employee_id,
                         json_body(request).get("department"))

    @route("GET", "/churn-watchlist", summary="Closed customers at risk, highest risk first",
           query={"page": "integer", "page_size": "integer", "cursor": "string"},
           response=WatchPageSchema, tags=["churn"])
    def churn_watchlist(self, request):
        return self.call(self.reporting, "churn_watchlist", query_int(request, "page", 1),
                         query_int(request, "page_size", 20),
                         cursor=request.args.get("cursor") or None)

    @route("GET", "/campaigns/<campaign_id>/report", summary="A campaign's results",
           response=CampaignReportSchema, tags=["campaigns"])
    def campaign_report(self, request, campaign_id):
        return self.call(self.reporting, "campaign_report", campaign_id)

    @route("POST", "/rebuild", summary="Replay the event log into fresh read models (admins)",
           response=RebuildSchema, tags=["admin"])
    def rebuild(self, request):
        return self.call(self.reporting, "rebuild")

    # --- HTML ----------------------------------------------------------------------------------
    @route("GET", "/", auth=False, summary="Redirect to the dashboard", tags=["dashboard"])
    def index(self, request):
        ctx = PageContext(request, self.container_config, "reporting")
        actor = ctx.sign_in_from_cookie()
        if actor and not ctx.is_manager:  # staff: their own scorecard
            return Response(status=303, headers={"Location": "/app/scorecard"})
        query = request.query_string.decode("latin-1")
        return Response(status=302, headers={"Location": "/dashboard" + (f"?{query}"
                                                                          if query else "")})

    def _act_as(self, actor, token):
        try:
            self.actor.set(actor, token=token)
        except TypeError:  # an actor provider that does not forward the token
            self.actor.set(actor)

    @route("GET", "/dashboard", auth=False, page=True, tags=["dashboard"],
           summary="HTML dashboard (token as bearer, ?token= or crm_token cookie)",
           query={"period": "string", "lang": "string", "token": "string",
                  "owner_id": "string", "department": "string"})
    def dashboard(self, request):
        ctx = PageContext(request, self.container_config, "reporting")
        token = request.args.get("token") or request.cookies.get(COOKIE)
        header = request.headers.get("Authorization", "")
        if not token and header.lower().startswith("bearer "):
            token = header[7:].strip()
        try:
            if not token:
                raise Unauthorized("missing token")
            actor = verify_token(self.container_config, token)
        except Unauthorized as exc:
            if wants_html(request):  # a browser: the kit's sign-in page, as every workspace
                reason = "expired" if "expired" in str(exc) else ("signin" if not token
                                                                   else "invalid")
                nxt = request.full_path.rstrip("?")
                resp = Response(status=303, headers={"Location": "/login?" + urlencode(
                    {"reason": reason, "next": nxt})})
                if request.cookies.get(COOKIE):
                    clear_session_cookie(resp, request)
                return resp
            return ctx.error_page(401)
        ctx.actor, ctx.token = actor, token
        self._act_as(actor, token)
        try:
            data = self.call(self.reporting, "dashboard", self._period(request), _scope(request))
            resp = ctx.render("reporting/dashboard.html", d=dashboard.view(
                data, ctx.t, names=_name), scope=data.get("scope") or {}, links=True,
                page_title=ctx.t("reporting.title"))
        except CrmError as exc:  # staff: 403; a bad period: 422 — the kit's error pages
            status = exc.http_status if exc.http_status in (403, 404, 422) else 500
            links = [(ctx.t("reporting.my_scorecard_link"), "/app/scorecard", "my-scorecard")] \
                if status == 403 and not ctx.is_manager else None  # staff: where theirs is
            return ctx.error_page(status, detail=exc.message if status == 403 else None,
                                  links=links)
        except Exception:  # noqa: BLE001 - never a stack trace out of the gateway
            log.exception("dashboard page failed")
            return ctx.error_page(500)
        if request.args.get("token"):
            set_session_cookie(resp, request, token)
        return resp

    @page("GET", "/app/open/<service>", auth=False)
    def open_list(self, request, service):
        """A tile's or row's link: 303 to ``to`` (an /app/ path) in ``service``'s
        workspace at its configured URL (WORKSPACE_URLS / CRM_PORT_OFFSET)."""
        target = _local_target(request.args.get("to"))
        if service not in directory.WORKSPACES or target is None:
            return page_context(request).error_page(404)
        base = directory.workspace_url(self.container_config, service).rstrip("/")
        return Response(status=303, headers={"Location": base + target})

    def _month(self, request):
        month = (request.args.get("period") or "").strip()
        if not MONTH.match(month):
            tz = self.container_config.get("CRM_TIMEZONE") or domain.DEFAULT_TZ
            month = domain.current_period(dt.datetime.now(dt.UTC), tz)
        return month

    def _scorecard_page(self, request, employee_id, cards):
        ctx = page_context(request)
        mine = employee_id == ctx.actor["id"]
        title = ctx.t("reporting.scorecard.title") if mine else \
            ctx.t("reporting.scorecard.of", name=_name(employee_id))
        crumbs = ([(ctx.t("reporting.title"), "/dashboard")] if ctx.is_manager else []) + \
            [(title, None)]
        return render("reporting/scorecard.html", cards=cards, employee_id=employee_id,
                      employee_name=_name(employee_id), month=self._month(request),
                      months=[p for p in dashboard.period_options(
                          self._month(request), dt.date.today()) if "Q" not in p and "-" in p],
                      fmt=dashboard.fmt, pct=dashboard.pct, page_title=title,
                      heading=title, breadcrumbs=crumbs)

    @page("GET", "/app/scorecard")
    def my_scorecard_page(self, request):
        """The signed-in employee's own scorecard: the month, its quarter, its year."""
        ctx = page_context(request)
        other = (request.args.get("employee_id") or "").strip()
        if other and other != ctx.actor["id"]:
            return redirect(f"/app/scorecards/{other}?" + urlencode(
                {"period": self._month(request)}))
        cards = [(kind, self.call(self.reporting, "my_scorecard", label))
                 for kind, label in _periods(self._month(request))]
        return self._scorecard_page(request, ctx.actor["id"], cards)

    @page("GET", "/app/scorecards/<employee_id>")
    def scorecard_page(self, request, employee_id):
        """Anyone's scorecard (managers; the service refuses staff: 403). Staff asking
        for their own land on /app/scorecard."""
        ctx = page_context(request)
        if employee_id == ctx.actor["id"] and not ctx.is_manager:
            return redirect("/app/scorecard?" + urlencode({"period": self._month(request)}))
        if not ctx.is_manager:
            raise Forbidden("staff see only their own scorecard")
        cards = [(kind, self.call(self.reporting, "scorecard", employee_id, label))
                 for kind, label in _periods(self._month(request))]
        return self._scorecard_page(request, employee_id, cards)
