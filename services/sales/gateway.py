"""sales_gateway: the sales department's HTTP API (port 8002)."""
from marshmallow import Schema, fields

from services.common.errors import ValidationError
from services.common.gateway import GatewayBase, json_body, query_int, route, rpc
from services.common.openapi import build_spec
from services.sales.channel_schemas import ChannelAnalysisOutSchema
from services.sales.pages import SalesPages
from services.sales.schemas import (
    ActivityInSchema,
    ActivityOutSchema,
    ActivityPageSchema,
    AssignSchema,
    BoardColumnSchema,
    ConvertSchema,
    FollowUpInSchema,
    FollowUpOutSchema,
    FollowUpPageSchema,
    ForecastOutSchema,
    LeadInSchema,
    LeadOutSchema,
    LeadPageSchema,
    OpportunityInSchema,
    OpportunityOutSchema,
    OpportunityPageSchema,
    OrderChangesSchema,
    OrderInSchema,
    OrderOutSchema,
    OrderPageSchema,
    OutcomeSchema,
    PaymentInSchema,
    ReasonSchema,
    RulesOutSchema,
    RulesSchema,
    ShipSchema,
    StageSchema,
    item_schema,
)

PAGING = {"page": "integer", "page_size": "integer"}
LEAD_QUERY = dict(PAGING, cursor="string", status="string", source="string",
                  owner_id="string", campaign_id="string", customer_id="integer",
                  unassigned="boolean", q="string", region="string", industry_code="string")
OPP_QUERY = dict(PAGING, cursor="string", stage="string", open="boolean", owner_id="string",
                 customer_id="integer", campaign_id="string")
FU_QUERY = dict(PAGING, cursor="string", opportunity_id="integer", status="string",
                overdue="boolean", owner_id="string")
ACT_QUERY = dict(PAGING, cursor="string", channel="string")
BOARD_QUERY = dict(PAGING, cursor="string", owner_id="string")
ORDER_QUERY = dict(PAGING, cursor="string", status="string", customer_id="integer",
                   opportunity_id="integer", owner_id="string")


class ConvertedSchema(Schema):
    lead = fields.Nested(item_schema(LeadOutSchema))
    opportunity = fields.Nested(item_schema(OpportunityOutSchema))


def _filters(request, spec):
    """Query string → RPC filters (types checked here, values by the service)."""
    out = {}
    for key, kind in spec.items():
        raw = request.args.get(key)
        if key in PAGING or key == "cursor" or raw in (None, ""):
            continue
        if kind == "integer":
            out[key] = query_int(request, key, None)
        elif kind == "boolean":
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValidationError("Invalid query parameter", {key: ["must be true or false"]})
            out[key] = raw.lower() in ("true", "1")
        else:
            out[key] = raw
    return out


def _paging(request):
    return {"page": query_int(request, "page", 1),
            "page_size": query_int(request, "page_size", 20)}


class SalesGateway(SalesPages, GatewayBase):
    name = "sales_gateway"
    sales = rpc("sales")

    @route("GET", "/openapi.json", auth=False, summary="This API as OpenAPI 3")
    def openapi(self, request):
        return build_spec(SalesGateway, "Kehu CRM sales API",
                          description="Leads and assignment, opportunities and stages, "
                                      "follow-ups and activities, orders, shipments, "
                                      "payments and the weighted-pipeline forecast.")

    # --- leads -------------------------------------------------------------------
    @route("POST", "/leads", summary="Create a lead", body=LeadInSchema,
           response=LeadOutSchema, status=201, tags=["leads"])
    def create_lead(self, request):
        return self.call(self.sales, "create_lead", json_body(request))

    @route("GET", "/leads", summary="List leads you may see", query=LEAD_QUERY,
           response=LeadPageSchema, tags=["leads"])
    def list_leads(self, request):
        return self.call(self.sales, "list_leads", _filters(request, LEAD_QUERY),
                         **_paging(request),
                         cursor=request.args.get("cursor") or None)

    @route("GET", "/leads/<int:lead_id>", summary="Get a lead", response=LeadOutSchema,
           tags=["leads"])
    def get_lead(self, request, lead_id):
        return self.call(self.sales, "get_lead", lead_id)

    @route("POST", "/leads/<int:lead_id>/assign",
           summary="Assign by the rules (no owner_id) or by hand (managers)",
           body=AssignSchema, response=LeadOutSchema, tags=["leads"])
    def assign_lead(self, request, lead_id):
        body = json_body(request, required=False)
        return self.call(self.sales, "assign_lead", lead_id, body.get("owner_id"))

    @route("POST", "/leads/<int:lead_id>/convert",
           summary="Convert to an opportunity (a prospect becomes a customer first)",
           body=ConvertSchema, response=ConvertedSchema, status=201, tags=["leads"])
    def convert_lead(self, request, lead_id):
        return self.call(self.sales, "convert_lead", lead_id, json_body(request))

    @route("POST", "/leads/<int:lead_id>/disqualify", summary="Disqualify with a reason",
           body=ReasonSchema, response=LeadOutSchema, tags=["leads"])
    def disqualify_lead(self, request, lead_id):
        return self.call(self.sales, "disqualify_lead", lead_id,
                         json_body(request).get("reason"))

    @route("PUT", "/assignment-rules", summary="Replace the assignment rules (managers)",
           body=RulesSchema, response=RulesOutSchema, tags=["leads"])
    def set_assignment_rules(self, request):
        return self.call(self.sales, "set_assignment_rules", json_body(request).get("rules"))

    @route("GET", "/assignment-rules", summary="The assignment rules (managers)",
           response=RulesOutSchema, tags=["leads"])
    def get_assignment_rules(self, request):
        return self.call(self.sales, "get_assignment_rules")

    # --- opportunities -------------------------------------------------------------
    @route("POST", "/opportunities", summary="Create an opportunity", body=OpportunityInSchema,
           response=OpportunityOutSchema, status=201, tags=["opportunities"])
    def create_opportunity(self, request):
        return self.call(self.sales, "create_opportunity", json_body(request))

    @route("GET", "/opportunities", summary="List opportunities you may see", query=OPP_QUERY,
           response=OpportunityPageSchema, tags=["opportunities"])
    def list_opportunities(self, request):
        return self.call(self.sales, "list_opportunities", _filters(request, OPP_QUERY),
                         **_paging(request),
                         cursor=request.args.get("cursor") or None)

    @route("GET", "/pipeline/columns/<stage>",
           summary="One pipeline board column (qualify … lost), id order, by ?cursor=",
           query=BOARD_QUERY, response=BoardColumnSchema, tags=["opportunities"])
    def board_column(self, request, stage):
        return self.call(self.sales, "board_column", stage,
                         request.args.get("owner_id") or None,
                         page=query_int(request, "page", 1),
                         page_size=query_int(request, "page_size", 10),
                         cursor=request.args.get("cursor") or None)

    @route("GET", "/opportunities/<int:opportunity_id>",
           summary="Get an opportunity (competitors, stage history, time per stage)",
           response=OpportunityOutSchema, tags=["opportunities"])
    def get_opportunity(self, request, opportunity_id):
        return self.call(self.sales, "get_opportunity", opportunity_id)

    @route("POST", "/opportunities/<int:opportunity_id>/stage",
           summary="Move one stage (qualify ↔ propose ↔ negotiate)", body=StageSchema,
           response=OpportunityOutSchema, tags=["opportunities"])
    def move_stage(self, request, opportunity_id):
        return self.call(self.sales, "move_stage", opportunity_id,
                         json_body(request).get("stage"))

    @route("POST", "/opportunities/<int:opportunity_id>/win", summary="Mark won (from negotiate)",
           response=OpportunityOutSchema, tags=["opportunities"])
    def win_opportunity(self, request, opportunity_id):
        return self.call(self.sales, "win_opportunity", opportunity_id)

    @route("POST", "/opportunities/<int:opportunity_id>/lose", summary="Mark lost with a reason",
           body=ReasonSchema, response=OpportunityOutSchema, tags=["opportunities"])
    def lose_opportunity(self, request, opportunity_id):
        return self.call(self.sales, "lose_opportunity", opportunity_id,
                         json_body(request).get("reason"))

    @route("POST", "/opportunities/<int:opportunity_id>/follow-ups",
           summary="Schedule a follow-up", body=FollowUpInSchema, response=FollowUpOutSchema,
           status=201, tags=["follow-ups"])
    def schedule_follow_up(self, request, opportunity_id):
        body = json_body(request)
        return self.call(self.sales, "schedule_follow_up", opportunity_id, body.get("due_at"),
                         body.get("note"))

    @route("POST", "/opportunities/<int:opportunity_id>/activities",
           summary="Log a communication", body=ActivityInSchema, response=ActivityOutSchema,
           status=201, tags=["activities"])
    def log_activity(self, request, opportunity_id):
        body = json_body(request)
        return self.call(self.sales, "log_activity", opportunity_id, body.get("channel"),
                         body.get("summary"))

    @route("GET", "/opportunities/<int:opportunity_id>/activities",
           summary="The opportunity's activity log", query=ACT_QUERY,
           response=ActivityPageSchema, tags=["activities"])
    def list_activities(self, request, opportunity_id):
        filters = dict(_filters(request, ACT_QUERY), opportunity_id=opportunity_id)
        return self.call(self.sales, "list_activities", filters, **_paging(request),
                         cursor=request.args.get("cursor") or None)

    # --- follow-ups -------------------------------------------------------------------
    @route("GET", "/follow-ups", summary="List follow-ups (overdue=true for overdue ones)",
           query=FU_QUERY, response=FollowUpPageSchema, tags=["follow-ups"])
    def list_follow_ups(self, request):
        return self.call(self.sales, "list_follow_ups", _filters(request, FU_QUERY),
                         **_paging(request),
                         cursor=request.args.get("cursor") or None)

    @route("GET", "/follow-ups/<int:follow_up_id>", summary="Get a follow-up",
           response=FollowUpOutSchema, tags=["follow-ups"])
    def get_follow_up(self, request, follow_up_id):
        return self.call(self.sales, "get_follow_up", follow_up_id)

    @route("POST", "/follow-ups/<int:follow_up_id>/complete",
           summary="Complete with an outcome", body=OutcomeSchema, response=FollowUpOutSchema,
           tags=["follow-ups"])
    def complete_follow_up(self, request, follow_up_id):
        return self.call(self.sales, "complete_follow_up", follow_up_id,
                         json_body(request).get("outcome"))

    # --- orders -----------------------------------------------------------------------------
    @route("POST", "/orders", summary="Place an order", body=OrderInSchema,
           response=OrderOutSchema, status=201, tags=["orders"])
    def create_order(self, request):
        return self.call(self.sales, "create_order", json_body(request))

    @route("GET", "/orders", summary="List orders you may see", query=ORDER_QUERY,
           response=OrderPageSchema, tags=["orders"])
    def list_orders(self, request):
        return self.call(self.sales, "list_orders", _filters(request, ORDER_QUERY),
                         **_paging(request),
                         cursor=request.args.get("cursor") or None)

    @route("GET", "/orders/<int:order_id>", summary="Get an order", response=OrderOutSchema,
           tags=["orders"])
    def get_order(self, request, order_id):
        return self.call(self.sales, "get_order", order_id)

    @route("PATCH", "/orders/<int:order_id>", summary="Change lines / delivery date",
           body=OrderChangesSchema, response=OrderOutSchema, tags=["orders"])
    def change_order(self, request, order_id):
        return self.call(self.sales, "change_order", order_id, json_body(request))

    @route("POST", "/orders/<int:order_id>/ship", summary="Record the shipment",
           body=ShipSchema, response=OrderOutSchema, tags=["orders"])
    def ship_order(self, request, order_id):
        body = json_body(request, required=False)
        return self.call(self.sales, "ship_order", order_id, body.get("shipped_at"))

    @route("POST", "/orders/<int:order_id>/payments",
           summary="Record a (partial) payment; over-payment is refused",
           body=PaymentInSchema, response=OrderOutSchema, status=201, tags=["orders"])
    def record_payment(self, request, order_id):
        return self.call(self.sales, "record_payment", order_id,
                         json_body(request).get("amount"))

    @route("POST", "/orders/<int:order_id>/cancel", summary="Cancel with a reason",
           body=ReasonSchema, response=OrderOutSchema, tags=["orders"])
    def cancel_order(self, request, order_id):
        return self.call(self.sales, "cancel_order", order_id, json_body(request).get("reason"))

    # --- forecast -------------------------------------------------------------------------------
    @route("GET", "/forecast", summary="Weighted pipeline for a period (2026-11, 2026-Q4, 2026)",
           query={"period": "string"}, response=ForecastOutSchema, tags=["forecast"])
    def forecast(self, request):
        return self.call(self.sales, "forecast", request.args.get("period"))

    @route("GET", "/channel-analysis", summary="Sales channel analysis of a period: per lead "
           "source and per campaign, leads, converted, won, won amount, conversion and win "
           "rates, average cycle days (leads created in the period)",
           query={"period": "string"}, response=ChannelAnalysisOutSchema, tags=["forecast"])
    def channel_analysis(self, request):
        return self.call(self.sales, "channel_analysis", request.args.get("period"))
