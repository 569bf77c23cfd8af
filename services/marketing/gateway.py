"""marketing_gateway: the marketing department's HTTP API (port 8004)."""
from services.common.gateway import GatewayBase, json_body, query_int, route, rpc
from services.common.openapi import build_spec
from services.marketing.page_actions import CampaignActionPages
from services.marketing.page_export import ExportPages
from services.marketing.pages import CampaignPages
from services.marketing.schemas import (
    AudiencePageSchema,
    AudienceSchema,
    CampaignChangesSchema,
    CampaignInSchema,
    CampaignOutSchema,
    CampaignPageSchema,
    CancelSchema,
    EvaluationSchema,
    FeedbackInSchema,
    LeadInSchema,
    MilestoneInSchema,
    MilestoneOutSchema,
    OutreachInSchema,
    OutreachPageSchema,
    OutreachResultSchema,
    ParticipantInSchema,
    ParticipantOutSchema,
    ParticipantPageSchema,
    TemplateInSchema,
    TemplateOutSchema,
)

LIST_QUERY = {"state": "string", "format": "string", "owner_id": "string", "q": "string",
              "customer_id": "integer", "page": "integer", "page_size": "integer",
              "cursor": "string"}
PAGE_QUERY = {"page": "integer", "page_size": "integer"}
CURSOR_PAGE_QUERY = {**PAGE_QUERY, "cursor": "string"}


def _filters(request):
    filters = {k: request.args[k] for k in ("state", "format", "owner_id", "q")
               if request.args.get(k)}
    if request.args.get("customer_id"):
        filters["customer_id"] = query_int(request, "customer_id", None)
    return filters


def _page(request):
    return {"page": query_int(request, "page", 1),
            "page_size": query_int(request, "page_size", 20)}


def _cursor_page(request):
    """``_page`` plus ``cursor`` (the keyset-paged lists: campaigns, participants)."""
    return dict(_page(request), cursor=request.args.get("cursor") or None)


class MarketingGateway(CampaignPages, CampaignActionPages, ExportPages, GatewayBase):
    """JSON API + the marketing workspace's pages (``/app/...``, pages*.py)."""

    name = "marketing_gateway"
    marketing = rpc("marketing")

    @route("GET", "/openapi.json", auth=False, summary="This API as OpenAPI 3")
    def openapi(self, request):
        return build_spec(MarketingGateway, "Kehu CRM marketing API",
                          description="Campaigns from plan to evaluation: plan, milestones, "
                                      "audience, participants, check-in, feedback, leads to "
                                      "sales, personalised outreach, ROI.")

    # --- workspace helpers ------------------------------------------------------
    @route("POST", "/audience/count", summary="How many customers audience rules match now",
           body=AudienceSchema, tags=["campaigns"])
    def audience_count(self, request):
        return self.call(self.marketing, "audience_count", json_body(request, required=False))

    @route("GET", "/customers/find", summary="Customers by name (id, name; no contact data)",
           query={"q": "string", "limit": "integer"}, tags=["participants"])
    def find_customers(self, request):
        return self.call(self.marketing, "find_customers", request.args.get("q"),
                         query_int(request, "limit", 10))

    @route("GET", "/campaigns/counts", summary="Campaigns you may see, by state",
           tags=["campaigns"])
    def campaign_counts(self, request):
        return self.call(self.marketing, "campaign_counts")

    # --- campaigns --------------------------------------------------------------
    @route("POST", "/campaigns", summary="Create a draft campaign", body=CampaignInSchema,
           response=CampaignOutSchema, status=201, tags=["campaigns"])
    def create_campaign(self, request):
        return self.call(self.marketing, "create_campaign", json_body(request))

    @route("GET", "/campaigns", summary="List campaigns you may see", query=LIST_QUERY,
           response=CampaignPageSchema, tags=["campaigns"])
    def list_campaigns(self, request):
        return self.call(self.marketing, "list_campaigns", _filters(request),
                         **_cursor_page(request))

    @route("GET", "/campaigns/<int:campaign_id>", summary="Get a campaign",
           response=CampaignOutSchema, tags=["campaigns"])
    def get_campaign(self, request, campaign_id):
        return self.call(self.marketing, "get_campaign", campaign_id)

    @route("PATCH", "/campaigns/<int:campaign_id>", summary="Change the plan or the cost",
           body=CampaignChangesSchema, response=CampaignOutSchema, tags=["campaigns"])
    def update_campaign(self, request, campaign_id):
        return self.call(self.marketing, "update_campaign", campaign_id, json_body(request))

    @route("POST", "/campaigns/<int:campaign_id>/schedule", summary="draft → scheduled",
           response=CampaignOutSchema, tags=["lifecycle"])
    def schedule_campaign(self, request, campaign_id):
        return self.call(self.marketing, "schedule_campaign", campaign_id)

    @route("POST", "/campaigns/<int:campaign_id>/launch",
           summary="scheduled → running; snapshot the audience", response=CampaignOutSchema,
           tags=["lifecycle"])
    def launch_campaign(self, request, campaign_id):
        return self.call(self.marketing, "launch_campaign", campaign_id)

    @route("POST", "/campaigns/<int:campaign_id>/complete", summary="running → completed",
           response=CampaignOutSchema, tags=["lifecycle"])
    def complete_campaign(self, request, campaign_id):
        return self.call(self.marketing, "complete_campaign", campaign_id)

    @route("POST", "/campaigns/<int:campaign_id>/cancel", summary="Cancel with a reason",
           body=CancelSchema, response=CampaignOutSchema, tags=["lifecycle"])
    def cancel_campaign(self, request, campaign_id):
        return self.call(self.marketing, "cancel_campaign", campaign_id,
                         json_body(request).get("reason"))

    @route("POST", "/campaigns/<int:campaign_id>/milestones", summary="Add a milestone",
           body=MilestoneInSchema, response=MilestoneOutSchema, status=201, tags=["plan"])
    def add_milestone(self, request, campaign_id):
        return self.call(self.marketing, "add_milestone", campaign_id, json_body(request))

    @route("POST", "/campaigns/<int:campaign_id>/milestones/<int:milestone_id>/complete",
           summary="Complete a milestone", response=MilestoneOutSchema, tags=["plan"])
    def complete_milestone(self, request, campaign_id, milestone_id):
        return self.call(self.marketing, "complete_milestone", campaign_id, milestone_id)

    @route("GET", "/campaigns/<int:campaign_id>/audience", summary="Audience snapshot",
           query=CURSOR_PAGE_QUERY, response=AudiencePageSchema, tags=["audience"])
    def get_audience(self, request, campaign_id):
        return self.call(self.marketing, "get_audience", campaign_id,
                         **_cursor_page(request))

    # --- participants -----------------------------------------------------------
    @route("POST", "/campaigns/<int:campaign_id>/participants",
           summary="Register a participant: {customer_id} or {contact: {...}}",
           body=ParticipantInSchema, response=ParticipantOutSchema, status=201,
           tags=["participants"])
    def register_participant(self, request, campaign_id):
        return self.call(self.marketing, "register_participant", campaign_id,
                         json_body(request))

    @route("GET", "/campaigns/<int:campaign_id>/participants", summary="List participants",
           query=CURSOR_PAGE_QUERY, response=ParticipantPageSchema, tags=["participants"])
    def list_participants(self, request, campaign_id):
        return self.call(self.marketing, "list_participants", campaign_id,
                         **_cursor_page(request))

    @route("GET", "/campaigns/<int:campaign_id>/participants/<int:participant_id>",
           summary="Get a participant", response=ParticipantOutSchema, tags=["participants"])
    def get_participant(self, request, campaign_id, participant_id):
        return self.call(self.marketing, "get_participant", campaign_id, participant_id)

    @route("POST", "/campaigns/<int:campaign_id>/participants/<int:participant_id>/check-in",
           summary="Record attendance", response=ParticipantOutSchema, tags=["participants"])
    def check_in(self, request, campaign_id, participant_id):
        return self.call(self.marketing, "check_in", campaign_id, participant_id)

    @route("POST", "/campaigns/<int:campaign_id>/participants/<int:participant_id>/feedback",
           summary="Record feedback (score 1–5 + comment)", body=FeedbackInSchema,
           response=ParticipantOutSchema, status=201, tags=["participants"])
    def record_feedback(self, request, campaign_id, participant_id):
        body = json_body(request)
        return self.call(self.marketing, "record_feedback", campaign_id, participant_id,
                         body.get("score"), body.get("comment"))

    @route("POST", "/campaigns/<int:campaign_id>/participants/<int:participant_id>/lead",
           summary="Hand the participant to sales as a lead (once)", body=LeadInSchema,
           response=ParticipantOutSchema, status=201, tags=["participants"])
    def generate_lead(self, request, campaign_id, participant_id):
        body = json_body(request, required=False)
        return self.call(self.marketing, "generate_lead", campaign_id, participant_id,
                         body.get("need"))

    # --- evaluation and outreach ------------------------------------------------
    @route("GET", "/campaigns/<int:campaign_id>/evaluation",
           summary="Participants, attendance, leads, conversions, won amount, cost, ROI",
           response=EvaluationSchema, tags=["evaluation"])
    def evaluate_campaign(self, request, campaign_id):
        return self.call(self.marketing, "evaluate_campaign", campaign_id)

    @route("POST", "/campaigns/<int:campaign_id>/templates",
           summary="Add a per-segment message template", body=TemplateInSchema,
           response=TemplateOutSchema, status=201, tags=["outreach"])
    def add_template(self, request, campaign_id):
        return self.call(self.marketing, "add_template", campaign_id, json_body(request))

    @route("GET", "/campaigns/<int:campaign_id>/templates", summary="List templates",
           response=TemplateOutSchema(many=True), tags=["outreach"])
    def list_templates(self, request, campaign_id):
        return self.call(self.marketing, "list_templates", campaign_id)

    @route("POST", "/campaigns/<int:campaign_id>/outreach",
           summary="Render and send personalised messages on a channel",
           body=OutreachInSchema, response=OutreachResultSchema, tags=["outreach"])
    def send_outreach(self, request, campaign_id):
        body = json_body(request)
        return self.call(self.marketing, "send_outreach", campaign_id, body.get("channel"),
                         body.get("participant_ids"))

    @route("GET", "/campaigns/<int:campaign_id>/outreach",
           summary="What was sent to whom by which channel", query=CURSOR_PAGE_QUERY,
           response=OutreachPageSchema, tags=["outreach"])
    def list_outreach(self, request, campaign_id):
        return self.call(self.marketing, "list_outreach", campaign_id,
                         **_cursor_page(request))

