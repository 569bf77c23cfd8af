"""service_desk's RPC input and output schemas."""
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from services.common.schemas import ContactText
from services.service_desk.domain import (
    CARE_KINDS,
    CHANNELS,
    FAQ_STATUSES,
    KINDS,
    ROOT_CAUSES,
    SEVERITIES,
    STATUSES,
    VISIT_CHANNELS,
)

_ID = fields.String(validate=validate.Length(min=1, max=64))
DEPARTMENTS = ("customers", "sales", "marketing", "service", "management", "logistics",
               "finance", "product", "technical", "other")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class TicketInSchema(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    customer_id = fields.Integer(required=True, allow_none=True,
                                 validate=validate.Range(min=1))
    complainant_name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    complainant_contact = ContactText(allow_none=True, validate=validate.Length(max=254))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    category = fields.String(allow_none=True, validate=validate.Length(min=1, max=32))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(required=True, validate=validate.Length(min=1, max=8000))


class AssignSchema(Strict):
    assignee_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))


class RespondSchema(Strict):
    message = fields.String(required=True, validate=validate.Length(min=1, max=8000))


class ProgressSchema(Strict):
    note = fields.String(required=True, validate=validate.Length(min=1, max=8000))
    notify_customer = fields.Boolean(required=True)


class CoordinationSchema(Strict):
    department = fields.String(required=True, validate=validate.OneOf(DEPARTMENTS))
    note = fields.String(required=True, validate=validate.Length(min=1, max=8000))


class ResolveSchema(Strict):
    resolution = fields.String(required=True, validate=validate.Length(min=1, max=8000))
    root_cause = fields.String(required=True, validate=validate.OneOf(ROOT_CAUSES))


class ReasonSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class SurveyInSchema(Strict):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(allow_none=True, validate=validate.Length(max=2000))


class TicketFiltersSchema(Strict):
    status = fields.String(validate=validate.OneOf(STATUSES))
    kind = fields.String(validate=validate.OneOf(KINDS))
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    assignee_id = _ID
    customer_id = fields.Integer()
    breached = fields.Boolean()
    mine = fields.Boolean()  # managers: only tickets assigned to or opened by them
    active = fields.Boolean()  # only open / in progress
    q = fields.String(validate=validate.Length(min=1, max=100))
    sort = fields.String(validate=validate.OneOf(("due", "new")))


class AgentInSchema(Strict):
    name = fields.String(allow_none=True, validate=validate.Length(max=64))
    categories = fields.List(fields.String(validate=validate.Length(min=1, max=32)),
                             load_default=list, validate=validate.Length(max=20))
    active = fields.Boolean(load_default=True)


class CarePlanInSchema(Strict):
    customer_id = fields.Integer(required=True, validate=validate.Range(min=1))
    kind = fields.String(required=True, validate=validate.OneOf(CARE_KINDS))
    assignee_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    start_date = fields.Date(allow_none=True)
    expiry_date = fields.Date(allow_none=True)
    interval_days = fields.Integer(allow_none=True, validate=validate.Range(min=7, max=366))
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))

    @validates_schema
    def _kind_fields(self, data, **kwargs):
        if data.get("kind") == "contract_expiry" and not data.get("expiry_date"):
            raise ValidationError("required for contract_expiry plans", "expiry_date")
        if data.get("kind") != "contract_expiry" and data.get("expiry_date"):
            raise ValidationError("only for contract_expiry plans", "expiry_date")
        if data.get("kind") != "periodic_visit" and data.get("interval_days"):
            raise ValidationError("only for periodic_visit plans", "interval_days")


class VisitInSchema(Strict):
    channel = fields.String(required=True, validate=validate.OneOf(VISIT_CHANNELS))
    outcome = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    satisfaction = fields.Integer(allow_none=True, strict=True,
                                  validate=validate.Range(min=1, max=5))


class DueSchema(Strict):
    date = fields.Date(required=True)
    include_overdue = fields.Boolean(load_default=True)


class FaqInSchema(Strict):
    question = fields.String(required=True, validate=validate.Length(min=2, max=300))
    answer = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    category = fields.String(required=True, validate=validate.Length(min=1, max=32))
    keywords = fields.String(allow_none=True, validate=validate.Length(max=300))


class FaqChangesSchema(FaqInSchema):
    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("no changes given", "_schema")


class FaqSearchSchema(Strict):
    query = fields.String(required=True, validate=validate.Length(min=1, max=100))
    category = fields.String(allow_none=True, validate=validate.Length(max=32))
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


class FaqFiltersSchema(Strict):
    status = fields.String(validate=validate.OneOf(FAQ_STATUSES))
    category = fields.String(validate=validate.Length(max=32))


# --- output -------------------------------------------------------------------
class EntryOutSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    author_id = fields.String()
    at = fields.AwareDateTime()
    text = fields.String(allow_none=True)
    notify_customer = fields.Boolean()
    department = fields.String(allow_none=True)
    from_assignee = fields.String(allow_none=True)
    to_assignee = fields.String(allow_none=True)


class TicketOutSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    severity = fields.String()
    status = fields.String()
    customer_id = fields.Integer(allow_none=True)
    customer_name = fields.String(allow_none=True)  # the service desk's copy
    complainant_name = fields.String()
    complainant_contact = fields.String(allow_none=True)
    channel = fields.String()
    category = fields.String(allow_none=True)
    subject = fields.String()
    description = fields.String()
    assignee_id = fields.String(allow_none=True)
    opened_by = fields.String()
    opened_at = fields.AwareDateTime()
    first_response_due_at = fields.AwareDateTime()
    resolution_due_at = fields.AwareDateTime()
    first_responded_at = fields.AwareDateTime(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    first_response_breached_at = fields.AwareDateTime(allow_none=True)
    resolution_breached_at = fields.AwareDateTime(allow_none=True)
    root_cause = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    reopen_count = fields.Integer()
    updated_at = fields.AwareDateTime()
    version = fields.Integer()
    entries = fields.List(fields.Nested(EntryOutSchema))


class TicketPageSchema(Schema):
    items = fields.List(fields.Nested(TicketOutSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class SurveyOutSchema(Schema):
    id = fields.Integer()
    ticket_id = fields.Integer()
    score = fields.Integer()
    comment = fields.String(allow_none=True)
    answered_at = fields.AwareDateTime()
    recorded_by = fields.String()


class AgentOutSchema(Schema):
    agent_id = fields.String()
    name = fields.String(allow_none=True)
    categories = fields.List(fields.String())
    active = fields.Boolean()
    open_tickets = fields.Integer()
    updated_at = fields.AwareDateTime()


class CarePlanOutSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    kind = fields.String()
    assignee_id = fields.String(allow_none=True)
    start_date = fields.Date()
    expiry_date = fields.Date(allow_none=True)
    reminder_date = fields.Date(allow_none=True)
    interval_days = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)
    active = fields.Boolean()
    auto = fields.Boolean()
    created_by = fields.String()
    created_at = fields.AwareDateTime()


class CareTaskOutSchema(Schema):
    id = fields.Integer()
    plan_id = fields.Integer()
    customer_id = fields.Integer()
    kind = fields.String()
    occasion = fields.String()
    customer_name = fields.String(allow_none=True)  # the service desk's copy
    title = fields.String()
    due_date = fields.Date()
    assignee_id = fields.String(allow_none=True)
    status = fields.String()
    channel = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    satisfaction = fields.Integer(allow_none=True)
    visitor_id = fields.String(allow_none=True)
    done_at = fields.AwareDateTime(allow_none=True)


class FaqOutSchema(Schema):
    id = fields.Integer()
    question = fields.String()
    answer = fields.String()
    category = fields.String()
    keywords = fields.String(allow_none=True)
    status = fields.String()
    hits = fields.Integer()
    author_id = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    published_at = fields.AwareDateTime(allow_none=True)
    score = fields.Float()


class FaqResultsSchema(Schema):
    query = fields.String()
    items = fields.List(fields.Nested(FaqOutSchema))
    total = fields.Integer()


class BreachScanSchema(Schema):
    breaches = fields.Integer()
    open_by_severity = fields.Dict()
