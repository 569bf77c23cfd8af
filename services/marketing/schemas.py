"""marketing's RPC input and output schemas."""
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)

from services.common.schemas import IndustryCode, Mobile, Money
from services.marketing import domain

_TAG = fields.String(validate=validate.Length(min=1, max=32))
_ID = fields.String(validate=validate.Length(min=1, max=64))
_SEGMENT = fields.String(validate=[validate.Length(min=1, max=32),
                                   validate.Regexp(r"^[A-Za-z0-9_\-\u4e00-\u9fff]+$",
                                                   error="letters, digits, _ and - only")])


class Strict(Schema):
    class Meta:
        unknown = RAISE


class AudienceSchema(Strict):
    """Target audience: a filter over customers (resolved at launch)."""

    tags_all = fields.List(_TAG, validate=validate.Length(max=20))
    tags_any = fields.List(_TAG, validate=validate.Length(max=20))
    type = fields.String(validate=validate.OneOf(domain.CUSTOMER_TYPES))
    tier = fields.String(validate=validate.OneOf(domain.TIERS))
    industry_code = IndustryCode()
    region = fields.String(validate=validate.Length(min=1, max=64))


class MilestoneInSchema(Strict):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    owner_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    due_date = fields.Date(required=True)


class CampaignInSchema(Strict):
    """create_campaign(data); update_campaign uses it with partial=True."""

    theme = fields.String(required=True, validate=validate.Length(min=2, max=200))
    goal = fields.String(allow_none=True, validate=validate.Length(max=4000))
    audience = fields.Nested(AudienceSchema, load_default=dict)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    location = fields.String(allow_none=True, validate=validate.Length(max=200))
    format = fields.String(required=True, validate=validate.OneOf(domain.FORMATS))
    owner_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    budget = Money(allow_none=True)
    cost = Money(load_default=None, allow_none=True)
    milestones = fields.List(fields.Nested(MilestoneInSchema), load_default=list,
                             validate=validate.Length(max=50))

    @validates_schema
    def _window(self, data, **kwargs):
        problem = domain.window_problem(data.get("starts_at"), data.get("ends_at"))
        if problem:
            raise ValidationError(problem, "ends_at")


class CampaignChangesSchema(CampaignInSchema):
    version = fields.Integer(validate=validate.Range(min=1))

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not {k for k in data if k != "version"}:
            raise ValidationError("no changes given", "_schema")


PLAN_FIELDS = ("theme", "goal", "audience", "starts_at", "ends_at", "location", "format",
               "budget")


class ListFiltersSchema(Strict):
    state = fields.String(validate=validate.OneOf(domain.STATES))
    format = fields.String(validate=validate.OneOf(domain.FORMATS))
    owner_id = fields.String(validate=validate.Length(max=64))
    q = fields.String(validate=validate.Length(max=100))
    customer_id = fields.Integer(validate=validate.Range(min=1))  # took part, or targeted


class CancelSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ContactInSchema(Strict):
    """A participant who is not a customer (yet). Stays in marketing's DB only."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    company = fields.String(required=True, validate=validate.Length(min=2, max=200))
    mobile = Mobile(allow_none=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    title = fields.String(allow_none=True, validate=validate.Length(max=64))
    region = fields.String(allow_none=True, validate=validate.Length(max=64))
    industry_code = IndustryCode(allow_none=True)

    @validates_schema
    def _reachable(self, data, **kwargs):
        if not data.get("mobile") and not data.get("email"):
            raise ValidationError("a contact needs a mobile or an email", "mobile")


class ParticipantInSchema(Strict):
    """register_participant: an existing customer or a new contact (exactly one)."""

    customer_id = fields.Integer(validate=validate.Range(min=1))
    contact = fields.Nested(ContactInSchema)
    segment = _SEGMENT
    need = fields.String(allow_none=True, validate=validate.Length(max=2000))

    @validates_schema
    def _one_of(self, data, **kwargs):
        if ("customer_id" in data) == ("contact" in data):
            raise ValidationError("give either customer_id or contact (exactly one)",
                                  "customer_id")


class FeedbackInSchema(Strict):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(allow_none=True, validate=validate.Length(max=2000))


class LeadInSchema(Strict):
    need = fields.String(allow_none=True, validate=validate.Length(max=2000))


class TemplateInSchema(Strict):
    segment = _SEGMENT
    channel = fields.String(required=True, validate=validate.OneOf(domain.CHANNELS))
    subject = fields.String(allow_none=True, validate=validate.Length(max=200))
    body = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    offer = fields.String(allow_none=True, validate=validate.Length(max=200))

    @validates("subject")
    def _subject(self, value, **kwargs):
        problem = domain.template_problems(value)
        if problem:
            raise ValidationError(problem)

    @validates("body")
    def _body(self, value, **kwargs):
        problem = domain.template_problems(value)
        if problem:
            raise ValidationError(problem)


class OutreachInSchema(Strict):
    channel = fields.String(required=True, validate=validate.OneOf(domain.CHANNELS))
    participant_ids = fields.List(fields.Integer(validate=validate.Range(min=1)),
                                  allow_none=True, validate=validate.Length(max=1000))


class IdArgSchema(Strict):
    id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


# --- output ----------------------------------------------------------------------
class MilestoneOutSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    owner_id = fields.String()
    due_date = fields.Date()
    completed_at = fields.AwareDateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    status = fields.String()  # open | done | overdue


class CampaignOutSchema(Schema):
    id = fields.Integer()
    theme = fields.String()
    goal = fields.String(allow_none=True)
    audience = fields.Dict()
    starts_at = fields.AwareDateTime(allow_none=True)
    ends_at = fields.AwareDateTime(allow_none=True)
    location = fields.String(allow_none=True)
    format = fields.String()
    owner_id = fields.String()
    budget = fields.Decimal(places=2, as_string=True, allow_none=True)
    cost = fields.Decimal(places=2, as_string=True)
    state = fields.String()
    audience_size = fields.Integer(allow_none=True)
    milestones = fields.List(fields.Nested(MilestoneOutSchema))
    milestones_overdue = fields.Integer()
    scheduled_at = fields.AwareDateTime(allow_none=True)
    launched_at = fields.AwareDateTime(allow_none=True)
    completed_at = fields.AwareDateTime(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    version = fields.Integer()


class CampaignPageSchema(Schema):
    items = fields.List(fields.Nested(CampaignOutSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class AudienceMemberOutSchema(Schema):
    customer_id = fields.Integer()
    name = fields.String(allow_none=True)
    type = fields.String(allow_none=True)
    tier = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    industry_code = fields.String(allow_none=True)
    tags = fields.List(fields.String())


class AudiencePageSchema(Schema):
    campaign_id = fields.Integer()
    audience_size = fields.Integer(allow_none=True)
    items = fields.List(fields.Nested(AudienceMemberOutSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()
    next_cursor = fields.String(allow_none=True)  # pass back as ?cursor= (issue 20)
    total_is_estimate = fields.Boolean()


class FeedbackOutSchema(Schema):
    id = fields.Integer()
    score = fields.Integer()
    comment = fields.String(allow_none=True)
    recorded_by = fields.String(allow_none=True)
    recorded_at = fields.AwareDateTime()


class ParticipantOutSchema(Schema):
    id = fields.Integer()
    campaign_id = fields.Integer()
    kind = fields.String()
    customer_id = fields.Integer(allow_none=True)
    contact_name = fields.String(allow_none=True)
    company = fields.String(allow_none=True)
    mobile = fields.String(allow_none=True)   # masked unless you own the campaign
    email = fields.String(allow_none=True)    # masked unless you own the campaign
    region = fields.String(allow_none=True)
    industry_code = fields.String(allow_none=True)
    tier = fields.String(allow_none=True)
    segment = fields.String()
    need = fields.String(allow_none=True)
    registered_at = fields.AwareDateTime()
    attended = fields.Boolean()
    attended_at = fields.AwareDateTime(allow_none=True)
    lead_generated = fields.Boolean()
    lead_generated_at = fields.AwareDateTime(allow_none=True)
    sales_lead_id = fields.String(allow_none=True)
    feedback = fields.List(fields.Nested(FeedbackOutSchema))


class ParticipantPageSchema(Schema):
    items = fields.List(fields.Nested(ParticipantOutSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class TemplateOutSchema(Schema):
    id = fields.Integer()
    campaign_id = fields.Integer()
    segment = fields.String()
    channel = fields.String()
    subject = fields.String(allow_none=True)
    body = fields.String()
    offer = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class OutreachOutSchema(Schema):
    id = fields.Integer()
    campaign_id = fields.Integer()
    participant_id = fields.Integer()
    customer_id = fields.Integer(allow_none=True)
    template_id = fields.Integer()
    segment = fields.String()
    channel = fields.String()
    recipient = fields.String(attribute="recipient_masked")
    subject = fields.String(allow_none=True)
    body = fields.String()
    adapter = fields.String()
    status = fields.String()
    external_ref = fields.String(allow_none=True)
    sent_by = fields.String(allow_none=True)
    sent_at = fields.AwareDateTime()


class OutreachPageSchema(Schema):
    items = fields.List(fields.Nested(OutreachOutSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()
    next_cursor = fields.String(allow_none=True)  # pass back as ?cursor= (issue 20)
    total_is_estimate = fields.Boolean()


class OutreachResultSchema(Schema):
    campaign_id = fields.Integer()
    channel = fields.String()
    sent = fields.Integer()
    skipped = fields.List(fields.Dict())
    messages = fields.List(fields.Nested(OutreachOutSchema))


class EvaluationSchema(Schema):
    campaign_id = fields.Integer()
    state = fields.String()
    audience_size = fields.Integer(allow_none=True)
    participants = fields.Integer()
    attended = fields.Integer()
    attendance_rate = fields.Float(allow_none=True)
    feedback_count = fields.Integer()
    feedback_average = fields.Float(allow_none=True)
    leads_generated = fields.Integer()
    leads_in_sales = fields.Integer()
    leads_converted = fields.Integer()
    lead_conversion_rate = fields.Float(allow_none=True)
    opportunities = fields.Integer()
    opportunities_won = fields.Integer()
    orders = fields.Integer()
    won_amount = fields.String()
    budget = fields.String(allow_none=True)
    cost = fields.String()
    roi = fields.Float(allow_none=True)
