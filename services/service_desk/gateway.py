"""service_desk_gateway: the service department's HTTP API (port 8003).

Holds no rules: reads the request, calls service_desk over RPC as the
token's actor. ``GET /faq?q=`` is public (customers' self-service search).
"""
from marshmallow import Schema, fields
from werkzeug.wrappers import Response

from services.common.errors import ValidationError
from services.common.gateway import GatewayBase, json_body, json_response, query_int, route, rpc
from services.common.openapi import build_spec
from services.common.web.pages import wants_html
from services.service_desk.page_actions import TicketActionPages
from services.service_desk.page_care import CarePages
from services.service_desk.page_public import PUBLIC_FAQ, FaqPages
from services.service_desk.pages import TicketPages
from services.service_desk.report_schemas import (
    CustomerPickSchema,
    ImprovementInSchema,
    ImprovementOutSchema,
    PublicFaqSchema,
    RootCausesOutSchema,
    SurveyLinkInSchema,
    SurveyLinkOutSchema,
)
from services.service_desk.schemas import (
    AgentInSchema,
    AgentOutSchema,
    AssignSchema,
    BreachScanSchema,
    CarePlanInSchema,
    CarePlanOutSchema,
    CareTaskOutSchema,
    CoordinationSchema,
    FaqChangesSchema,
    FaqInSchema,
    FaqOutSchema,
    FaqResultsSchema,
    ProgressSchema,
    ReasonSchema,
    ResolveSchema,
    RespondSchema,
    SurveyInSchema,
    SurveyOutSchema,
    TicketInSchema,
    TicketOutSchema,
    TicketPageSchema,
    VisitInSchema,
)

TICKET_QUERY = {"status": "string", "kind": "string", "severity": "string",
                "assignee_id": "string", "customer_id": "integer", "breached": "boolean",
                "mine": "boolean", "active": "boolean", "q": "string", "sort": "string",
                "page": "integer", "page_size": "integer", "cursor": "string"}
TICKETS = ["tickets"]
CARE = ["care"]
FAQS = ["faq"]
VARY = {"Vary": "Accept"}  # /faq answers JSON or sends a browser to the page


def _to_page(request, path):
    """302 to the public page ``path`` with the request's query string."""
    query = request.query_string.decode("latin-1")
    return Response(status=302, headers={"Location": f"{path}?{query}" if query else path,
                                         **VARY})



def _newest_first(request):
    """``?order=newest`` (the newest first) or ``?order=id`` / none (id order, as before)."""
    order = request.args.get("order") or "id"
    if order not in ("id", "newest"):
        raise ValidationError("Invalid input", {"order": ["must be id or newest"]})
    return order == "newest"

class DueTaskSchema(CareTaskOutSchema):
    """A care task in a due list (own name: the kit's build_spec registers a schema
    nested before it is referenced twice)."""


class DueTasksSchema(Schema):
    date = fields.Date()
    items = fields.List(fields.Nested(DueTaskSchema))


class PageSchema(Schema):
    items = fields.List(fields.Dict())
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


def _bool_arg(request, name):
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ValidationError("Invalid query parameter", {name: ["must be true or false"]})


def _ticket_filters(request):
    filters = {k: request.args[k] for k in ("status", "kind", "severity", "assignee_id",
                                             "q", "sort") if request.args.get(k)}
    if request.args.get("customer_id"):
        filters["customer_id"] = query_int(request, "customer_id", None)
    for name in ("breached", "mine", "active"):
        value = _bool_arg(request, name)
        if value is not None:
            filters[name] = value
    return filters


class ServiceDeskGateway(TicketPages, TicketActionPages, CarePages, FaqPages, GatewayBase):
    """JSON API + the service workspace's pages (``/app/...``, pages*.py)."""

    name = "service_desk_gateway"
    desk = rpc("service_desk")

    @route("GET", "/openapi.json", auth=False, summary="This API as OpenAPI 3")
    def openapi(self, request):
        return build_spec(ServiceDeskGateway, "Kehu CRM service desk API",
                          description="Tickets with SLA clocks, assignment, surveys, care "
                                      "plans and return visits, FAQ.")

    # --- tickets --------------------------------------------------------------
    @route("POST", "/tickets", summary="Open a ticket", body=TicketInSchema,
           response=TicketOutSchema, status=201, tags=TICKETS)
    def open_ticket(self, request):
        return self.call(self.desk, "open_ticket", json_body(request))

    @route("GET", "/tickets", summary="Tickets you may see", query=TICKET_QUERY,
           response=TicketPageSchema, tags=TICKETS)
    def list_tickets(self, request):
        return self.call(self.desk, "list_tickets", _ticket_filters(request),
                         page=query_int(request, "page", 1),
                         page_size=query_int(request, "page_size", 20),
                         cursor=request.args.get("cursor") or None)

    @route("GET", "/tickets/<int:ticket_id>", summary="A ticket with its timeline",
           response=TicketOutSchema, tags=TICKETS)
    def get_ticket(self, request, ticket_id):
        return self.call(self.desk, "get_ticket", ticket_id)

    @route("POST", "/tickets/<int:ticket_id>/assign",
           summary="Assign (managers); no assignee_id = least-loaded agent", body=AssignSchema,
           response=TicketOutSchema, tags=TICKETS)
    def assign_ticket(self, request, ticket_id):
        body = json_body(request, required=False)
        return self.call(self.desk, "assign_ticket", ticket_id, body.get("assignee_id"))

    @route("POST", "/tickets/<int:ticket_id>/responses", summary="Respond to the customer",
           body=RespondSchema, response=TicketOutSchema, tags=TICKETS)
    def respond(self, request, ticket_id):
        return self.call(self.desk, "respond", ticket_id, json_body(request).get("message"))

    @route("POST", "/tickets/<int:ticket_id>/progress", summary="Add a progress note",
           body=ProgressSchema, response=TicketOutSchema, tags=TICKETS)
    def add_progress(self, request, ticket_id):
        body = json_body(request)
        return self.call(self.desk, "add_progress", ticket_id, body.get("note"),
                         body.get("notify_customer"))

    @route("POST", "/tickets/<int:ticket_id>/coordination",
           summary="Note coordination with another department", body=CoordinationSchema,
           response=TicketOutSchema, tags=TICKETS)
    def add_coordination(self, request, ticket_id):
        body = json_body(request)
        return self.call(self.desk, "add_coordination", ticket_id, body.get("department"),
                         body.get("note"))

    @route("POST", "/tickets/<int:ticket_id>/resolve", summary="Resolve with a root cause",
           body=ResolveSchema, response=TicketOutSchema, tags=TICKETS)
    def resolve_ticket(self, request, ticket_id):
        body = json_body(request)
        return self.call(self.desk, "resolve_ticket", ticket_id, body.get("resolution"),
                         body.get("root_cause"))

    @route("POST", "/tickets/<int:ticket_id>/close", summary="Close a resolved ticket",
           response=TicketOutSchema, tags=TICKETS)
    def close_ticket(self, request, ticket_id):
        return self.call(self.desk, "close_ticket", ticket_id)

    @route("POST", "/tickets/<int:ticket_id>/reopen", summary="Reopen (restarts resolution SLA)",
           body=ReasonSchema, response=TicketOutSchema, tags=TICKETS)
    def reopen_ticket(self, request, ticket_id):
        return self.call(self.desk, "reopen_ticket", ticket_id, json_body(request).get("reason"))

    @route("POST", "/tickets/<int:ticket_id>/survey", summary="Satisfaction survey (once)",
           body=SurveyInSchema, response=SurveyOutSchema, status=201, tags=TICKETS)
    def submit_survey(self, request, ticket_id):
        body = json_body(request)
        return self.call(self.desk, "submit_survey", ticket_id, body.get("score"),
                         body.get("comment"))

    @route("GET", "/tickets/<int:ticket_id>/survey", summary="The ticket's survey",
           response=SurveyOutSchema, tags=TICKETS)
    def get_survey(self, request, ticket_id):
        return self.call(self.desk, "get_survey", ticket_id)

    @route("POST", "/sla/scan", summary="Run the SLA breach scan now (managers)",
           response=BreachScanSchema, tags=TICKETS)
    def scan_sla(self, request):
        return self.call(self.desk, "scan_sla_breaches")

    @route("POST", "/tickets/<int:ticket_id>/survey-link",
           summary="A signed, single-use, expiring survey link for the customer",
           body=SurveyLinkInSchema, response=SurveyLinkOutSchema, status=201, tags=TICKETS)
    def issue_survey_link(self, request, ticket_id):
        body = json_body(request, required=False)
        return self.call(self.desk, "issue_survey_link", ticket_id, body.get("days", 14))

    @route("GET", "/root-causes", summary="Resolved complaints by root cause, with actions",
           query={"period": "string"}, response=RootCausesOutSchema, tags=TICKETS)
    def root_causes(self, request):
        return self.call(self.desk, "root_causes", request.args.get("period"))

    @route("POST", "/improvements", summary="Record an improvement action for a root cause",
           body=ImprovementInSchema, response=ImprovementOutSchema, status=201, tags=TICKETS)
    def record_improvement(self, request):
        return self.call(self.desk, "record_improvement", json_body(request))

    @route("GET", "/customers/search",
           summary="Pick a customer by name (the service desk's copy; contact masked)",
           query={"q": "string", "limit": "integer"}, response=CustomerPickSchema(many=True),
           tags=TICKETS)
    def search_customers(self, request):
        return self.call(self.desk, "search_customers", request.args.get("q"),
                         query_int(request, "limit", 10))

    # --- roster ---------------------------------------------------------------
    @route("GET", "/agents", summary="The service roster", response=AgentOutSchema(many=True),
           tags=["agents"])
    def list_agents(self, request):
        return self.call(self.desk, "list_agents")

    @route("PUT", "/agents/<agent_id>", summary="Add or edit a roster agent (managers)",
           body=AgentInSchema, response=AgentOutSchema, tags=["agents"])
    def set_agent(self, request, agent_id):
        return self.call(self.desk, "set_agent", agent_id, json_body(request, required=False))

    # --- care -----------------------------------------------------------------
    @route("POST", "/care-plans", summary="Create a care plan", body=CarePlanInSchema,
           response=CarePlanOutSchema, status=201, tags=CARE)
    def create_care_plan(self, request):
        body = json_body(request)
        customer_id, kind = body.pop("customer_id", None), body.pop("kind", None)
        allowed = {"assignee_id", "start_date", "expiry_date", "interval_days", "note"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ValidationError("Invalid input", {k: ["Unknown field."] for k in unknown})
        return self.call(self.desk, "create_care_plan", customer_id, kind, **body)

    @route("GET", "/care-plans", summary="Care plans you may see",
           query={"customer_id": "integer", "page": "integer", "page_size": "integer",
                  "cursor": "string", "order": "string"},
           response=PageSchema, tags=CARE)
    def list_care_plans(self, request):
        return self.call(self.desk, "list_care_plans", query_int(request, "customer_id", None),
                         page=query_int(request, "page", 1),
                         page_size=query_int(request, "page_size", 20),
                         cursor=request.args.get("cursor") or None,
                         newest_first=_newest_first(request))

    @route("GET", "/care-tasks", summary="Care tasks due on a date (and overdue ones)",
           query={"date": "string", "include_overdue": "boolean"}, response=DueTasksSchema,
           tags=CARE)
    def due_care_tasks(self, request):
        overdue = _bool_arg(request, "include_overdue")
        return self.call(self.desk, "due_care_tasks", request.args.get("date"),
                         True if overdue is None else overdue)

    @route("POST", "/care-tasks/generate",
           summary="Make the care tasks due up to a date now, as the timer does (managers)",
           query={"date": "string"}, tags=CARE)
    def generate_care_tasks(self, request):
        return self.call(self.desk, "generate_care_tasks", request.args.get("date") or None)

    @route("POST", "/care-tasks/<int:task_id>/visit", summary="Record the visit of a care task",
           body=VisitInSchema, response=CareTaskOutSchema, tags=CARE)
    def record_visit(self, request, task_id):
        body = json_body(request)
        return self.call(self.desk, "record_visit", task_id, body.get("channel"),
                         body.get("outcome"), body.get("satisfaction"))

    # --- FAQ ------------------------------------------------------------------
    @route("POST", "/faqs", summary="Create a draft FAQ entry", body=FaqInSchema,
           response=FaqOutSchema, status=201, tags=FAQS)
    def create_faq(self, request):
        return self.call(self.desk, "create_faq", json_body(request))

    @route("GET", "/faqs", summary="FAQ entries (drafts too)",
           query={"status": "string", "category": "string", "page": "integer",
                  "page_size": "integer", "cursor": "string", "order": "string"},
           response=PageSchema, tags=FAQS)
    def list_faqs(self, request):
        filters = {k: request.args[k] for k in ("status", "category") if request.args.get(k)}
        return self.call(self.desk, "list_faqs", filters, page=query_int(request, "page", 1),
                         page_size=query_int(request, "page_size", 20),
                         cursor=request.args.get("cursor") or None,
                         newest_first=_newest_first(request))

    @route("GET", "/faqs/search", summary="Search published entries",
           query={"q": "string", "category": "string", "limit": "integer"},
           response=FaqResultsSchema, tags=FAQS)
    def search_faq(self, request):
        return self._search(request)

    @route("GET", "/faqs/top", summary="Most-hit published entries",
           query={"limit": "integer", "category": "string"}, response=FaqOutSchema(many=True),
           tags=FAQS)
    def top_faq(self, request):
        return self.call(self.desk, "top_faq", query_int(request, "limit", 10),
                         request.args.get("category") or None)

    @route("GET", "/faqs/<int:faq_id>", summary="An FAQ entry", response=FaqOutSchema,
           tags=FAQS)
    def get_faq(self, request, faq_id):
        return self.call(self.desk, "get_faq", faq_id)

    @route("PATCH", "/faqs/<int:faq_id>", summary="Edit an FAQ entry", body=FaqChangesSchema,
           response=FaqOutSchema, tags=FAQS)
    def update_faq(self, request, faq_id):
        return self.call(self.desk, "update_faq", faq_id, json_body(request))

    @route("POST", "/faqs/<int:faq_id>/publish", summary="Publish (service agents, managers)",
           response=FaqOutSchema, tags=FAQS)
    def publish_faq(self, request, faq_id):
        return self.call(self.desk, "publish_faq", faq_id)

    @route("POST", "/faqs/<int:faq_id>/unpublish", summary="Withdraw (service agents, managers)",
           response=FaqOutSchema, tags=FAQS)
    def unpublish_faq(self, request, faq_id):
        return self.call(self.desk, "unpublish_faq", faq_id)

    @route("GET", "/faq", auth=False, summary="Public self-service FAQ search (no token)",
           query={"q": "string", "category": "string", "limit": "integer"},
           response=FaqResultsSchema, tags=FAQS)
    def public_faq(self, request):
        """A browser (Accept prefers text/html) goes to the public FAQ page, same query."""
        if wants_html(request):
            return _to_page(request, PUBLIC_FAQ)
        return json_response(200, self._search(request), headers=VARY)

    @route("GET", "/faq/<int:faq_id>", auth=False, summary="A published FAQ entry (public)",
           response=PublicFaqSchema, tags=FAQS)
    def public_faq_entry(self, request, faq_id):
        """Question, answer, category of a published entry (one hit); a browser goes
        to the entry's public page."""
        if wants_html(request):
            return _to_page(request, f"{PUBLIC_FAQ}/{faq_id}")
        return json_response(200, self.call(self.desk, "get_public_faq", faq_id), headers=VARY)

    def _search(self, request):
        return self.call(self.desk, "search_faq", request.args.get("q"),
                         request.args.get("category") or None, query_int(request, "limit", 10))
