"""reporting_gateway: the managers' HTTP API and dashboard (port 8005).

JSON endpoints take the usual bearer token. The HTML dashboard uses the web kit's
sign-in (``/login``, the ``crm_token`` session cookie shared by every workspace);
a browser without a valid session is sent to ``/login``. ``?token=`` still works
(kept in the same HttpOnly, SameSite=Strict cookie); the language follows the kit's
``crm_lang`` cookie. Staff tokens get 403 (the reporting service refuses).
"""
import datetime as dt
from html import escape
from urllib.parse import urlencode

from marshmallow import Schema, fields
from nameko.exceptions import RemoteError
from werkzeug.wrappers import Response

from services.common.auth import verify_token
from services.common.errors import CrmError, Unauthorized
from services.common.gateway import GatewayBase, json_body, query_int, route, rpc
from services.common.openapi import build_spec
from services.common.web.embed import with_kit_header
from services.common.web.i18n import normalise_lang
from services.common.web.pages import unmatched_error_page, wants_html
from services.common.web.session import (
    LANG_COOKIE,
    LANG_MAX_AGE,
    clear_session_cookie,
    set_session_cookie,
)
from services.common.web.session import SESSION_COOKIE as COOKIE
from services.reporting import dashboard, domain
from services.reporting.schemas import (
    CampaignReportSchema,
    FreshnessSchema,
    KpisSchema,
    ScorecardSchema,
    StaffDepartmentSchema,
    TargetsInSchema,
    WatchPageSchema,
)

KPI_QUERY = {"period": "string", "owner_id": "string", "department": "string"}


class RebuildSchema(Schema):
    events = fields.Integer()
    entities = fields.Integer()


def _scope(request):
    scope = {k: request.args[k] for k in ("owner_id", "department") if request.args.get(k)}
    return scope or None


def _html(status, title, message):
    body = (f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
            f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
            f"<p>{escape(message)}</p></body></html>")
    return Response(body, status=status, mimetype="text/html")


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
           query={"page": "integer", "page_size": "integer"}, response=WatchPageSchema,
           tags=["churn"])
    def churn_watchlist(self, request):
        return self.call(self.reporting, "churn_watchlist", query_int(request, "page", 1),
                         query_int(request, "page_size", 20))

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
        query = request.query_string.decode("latin-1")
        return Response(status=302, headers={"Location": "/dashboard" + (f"?{query}"
                                                                          if query else "")})

    @route("GET", "/dashboard", auth=False, page=True, tags=["dashboard"],
           summary="HTML dashboard (token as bearer, ?token= or crm_token cookie)",
           query={"period": "string", "lang": "string", "token": "string",
                  "owner_id": "string", "department": "string"})
    def dashboard(self, request):
        asked = normalise_lang(request.args.get("lang"))
        lang = {"en": "en", "zh_CN": "zh"}.get(
            asked or normalise_lang(request.cookies.get(LANG_COOKIE)), "zh")
        token = request.args.get("token") or request.cookies.get(COOKIE)
        header = request.headers.get("Authorization", "")
        if not token and header.lower().startswith("bearer "):
            token = header[7:].strip()
        try:
            if not token:
                raise Unauthorized("missing token")
            actor = verify_token(self.container_config, token)
            self.actor.set(actor, token=token)
            data = self.call(self.reporting, "dashboard", self._period(request), _scope(request))
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
            return _html(exc.http_status, exc.code, exc.message)
        except CrmError as exc:
            if wants_html(request):  # e.g. staff: the kit's 403 page with its header
                return unmatched_error_page(request, exc.http_status, self.container_config,
                                            "reporting")
            return _html(exc.http_status, exc.code, exc.message)
        except RemoteError:
            return _html(500, "INTERNAL", "internal error")
        html = with_kit_header(dashboard.render(data, lang), request, self.container_config,
                               "reporting", actor, token)
        resp = Response(html, mimetype="text/html")
        if request.args.get("token"):
            set_session_cookie(resp, request, token)
        if asked:
            resp.set_cookie(LANG_COOKIE, asked, max_age=LANG_MAX_AGE, path="/", httponly=True,
                            samesite="Lax")
        return resp
