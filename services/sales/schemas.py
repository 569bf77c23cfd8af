"""sales' RPC input and output schemas."""
import functools

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from services.common.schemas import ColumnDecimal, IndustryCode, Mobile, Money
from services.sales.domain import (
    ACTIVITY_CHANNELS,
    LEAD_STATUSES,
    ORDER_STATUSES,
    PRICE_POSITIONS,
    RULE_KINDS,
    SOURCES,
    STAGES,
    line_problem,
    total_problem,
)

_OWNER = fields.String(validate=validate.Length(min=1, max=64))
_TEXT = validate.Length(max=4000)


class ExternalId(fields.Field):
    """An id owned by another service (int or str on the wire) → str."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValidationError("must be an id (integer or string)")
        value = str(value).strip()
        if not value or len(value) > 64:
            raise ValidationError("must be 1-64 characters")
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return wire_id(value)


def wire_id(value):
    """Stored external id back on the wire: digits become an integer."""
    if value is None:
        return None
    return int(value) if str(value).isdigit() else value


class _Strict(Schema):
    class Meta:
        unknown = RAISE


# --- leads -----------------------------------------------------------------------
class LeadInSchema(_Strict):
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    customer_id = fields.Integer(allow_none=True, strict=True,
                                 validate=validate.Range(min=1))
    customer_name = fields.String(validate=validate.Length(min=2, max=200))
    contact_name = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    contact_mobile = Mobile(allow_none=True)
    contact_email = fields.Email(allow_none=True)
    need = fields.String(allow_none=True, validate=_TEXT)
    region = fields.String(allow_none=True, validate=validate.Length(max=64))
    industry_code = IndustryCode(allow_none=True)
    campaign_id = ExternalId(allow_none=True)
    owner_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))

    @validates_schema
    def _who(self, data, **kwargs):
        if not data.get("customer_id") and not data.get("customer_name"):
            raise ValidationError("a prospect lead needs the customer name", "customer_name")
        if data.get("source") == "campaign" and not data.get("campaign_id"):
            raise ValidationError("a campaign lead needs the campaign_id", "campaign_id")


class RuleSchema(_Strict):
    kind = fields.String(required=True, validate=validate.OneOf(RULE_KINDS))
    owner_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    region = fields.String(validate=validate.Length(min=1, max=64))
    industry_code = fields.String(validate=validate.Length(min=1, max=8))
    team = fields.List(_OWNER, validate=validate.Length(max=100))
    customer_id = fields.Integer(validate=validate.Range(min=1))
    customer_name = fields.String(validate=validate.Length(min=1, max=200))
    source = fields.String(validate=validate.OneOf(SOURCES))
    campaign_id = ExternalId()


class RulesSchema(_Strict):
    rules = fields.List(fields.Nested(RuleSchema), required=True,
                        validate=validate.Length(max=100))


class AssignSchema(_Strict):
    owner_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))


class ReasonSchema(_Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class LeadFiltersSchema(_Strict):
    status = fields.String(validate=validate.OneOf(LEAD_STATUSES))
    source = fields.String(validate=validate.OneOf(SOURCES))
    owner_id = fields.String(validate=validate.Length(max=64))
    campaign_id = ExternalId()
    customer_id = fields.Integer()
    unassigned = fields.Boolean()
    q = fields.String(validate=validate.Length(max=100))
    region = fields.String(validate=validate.Length(max=64))
    industry_code = fields.String(validate=validate.Length(max=8))  # a prefix: C, C35


# --- opportunities -----------------------------------------------------------------
class CompetitorSchema(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    strengths = fields.String(allow_none=True, validate=_TEXT)
    price_position = fields.String(allow_none=True, validate=validate.OneOf(PRICE_POSITIONS))


class OpportunityFieldsSchema(_Strict):
    name = fields.String(validate=validate.Length(min=1, max=200))
    amount = Money(required=True)
    expected_close_date = fields.Date(required=True)
    background = fields.String(allow_none=True, validate=_TEXT)
    needs = fields.String(allow_none=True, validate=_TEXT)
    competitors = fields.List(fields.Nested(CompetitorSchema), load_default=list,
                              validate=validate.Length(max=20))


class OpportunityInSchema(OpportunityFieldsSchema):
    customer_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    owner_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))


class ConvertSchema(OpportunityFieldsSchema):
    """convert_lead(lead_id, opportunity): the opportunity, plus for a prospect lead the
    customer fields customers needs beyond what the lead knows (uscc, contact title…)."""

    customer = fields.Dict(load_default=dict)


class StageSchema(_Strict):
    stage = fields.String(required=True, validate=validate.OneOf(STAGES))


class OpportunityFiltersSchema(_Strict):
    stage = fields.String(validate=validate.OneOf(STAGES + ("won", "lost")))
    open = fields.Boolean()
    owner_id = fields.String(validate=validate.Length(max=64))
    customer_id = fields.Integer()
    campaign_id = ExternalId()


# --- follow-ups and activities ---------------------------------------------------------
class FollowUpInSchema(_Strict):
    due_at = fields.AwareDateTime(required=True)
    note = fields.String(allow_none=True, validate=_TEXT)


class OutcomeSchema(_Strict):
    outcome = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class FollowUpFiltersSchema(_Strict):
    opportunity_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(("open", "done")))
    overdue = fields.Boolean()
    owner_id = fields.String(validate=validate.Length(max=64))


class ActivityInSchema(_Strict):
    channel = fields.String(required=True, validate=validate.OneOf(ACTIVITY_CHANNELS))
    summary = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class ActivityFiltersSchema(_Strict):
    opportunity_id = fields.Integer()
    channel = fields.String(validate=validate.OneOf(ACTIVITY_CHANNELS))


# --- orders ----------------------------------------------------------------------------
class OrderLineSchema(_Strict):
    product = fields.String(required=True, validate=validate.Length(min=1, max=200))
    quantity = ColumnDecimal(14, 3, required=True,  # Numeric(14, 3), at most 10 000 000
                             validate=validate.Range(min=0, min_inclusive=False,
                                                     max=10_000_000))
    unit_price = Money(required=True)

    @validates_schema
    def _line_fits(self, data, **kwargs):
        bad = line_problem(data["quantity"], data["unit_price"])
        if bad:
            raise ValidationError(bad, "unit_price")


def _total_fits(data):
    bad = data.get("lines") and total_problem(data["lines"])
    if bad:
        raise ValidationError(bad, "amount")


class OrderInSchema(_Strict):
    customer_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    opportunity_id = fields.Integer(allow_none=True, strict=True,
                                    validate=validate.Range(min=1))
    lines = fields.List(fields.Nested(OrderLineSchema), required=True,
                        validate=validate.Length(min=1, max=200))
    delivery_date = fields.Date(allow_none=True)
    owner_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))

    @validates_schema
    def _amount_fits(self, data, **kwargs):
        _total_fits(data)


class OrderChangesSchema(_Strict):
    lines = fields.List(fields.Nested(OrderLineSchema), validate=validate.Length(min=1, max=200))
    delivery_date = fields.Date(allow_none=True)

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("no changes given", "_schema")

    @validates_schema
    def _amount_fits(self, data, **kwargs):
        _total_fits(data)


class ShipSchema(_Strict):
    shipped_at = fields.AwareDateTime(allow_none=True)


class PaymentInSchema(_Strict):
    amount = Money(required=True)


class OrderFiltersSchema(_Strict):
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES))
    customer_id = fields.Integer()
    opportunity_id = fields.Integer()
    owner_id = fields.String(validate=validate.Length(max=64))


class PeriodSchema(_Strict):
    period = fields.String(required=True, validate=validate.Regexp(
        r"^\d{4}(-(0[1-9]|1[0-2]|Q[1-4]))?$", error="must be YYYY-MM, YYYY-Qn or YYYY"))


# --- output ----------------------------------------------------------------------------
_MONEY_OUT = {"places": 2, "as_string": True}


class LeadOutSchema(Schema):
    id = fields.Integer()
    source = fields.String()
    status = fields.String()
    customer_id = fields.Integer(allow_none=True)
    customer_name = fields.String()
    contact_name = fields.String(allow_none=True)
    contact_mobile = fields.String(allow_none=True)
    contact_email = fields.String(allow_none=True)
    need = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    industry_code = fields.String(allow_none=True)
    campaign_id = ExternalId(allow_none=True)
    participant_id = ExternalId(allow_none=True)
    owner_id = fields.String(allow_none=True)
    assignment_rule = fields.String(allow_none=True)
    assigned_at = fields.AwareDateTime(allow_none=True)
    disqualify_reason = fields.String(allow_none=True)
    opportunity_id = fields.Integer(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


# the hot path (create_lead): a hand-written equivalent of LeadOutSchema().dump, the same
# dict for a ``repository.lead_output`` dict (tests/unit/sales/test_fast_lead.py compares
# the two); marshmallow's dump was ~10 % of a create_lead's own CPU
def _int(v):
    return None if v is None else int(v)


def _text(v):
    return None if v is None else str(v)


def _iso(v):
    return None if v is None else v.isoformat()


def dump_lead(lead):
    g = lead.__getitem__
    return {
        "id": _int(g("id")), "source": _text(g("source")), "status": _text(g("status")),
        "customer_id": _int(g("customer_id")), "customer_name": _text(g("customer_name")),
        "contact_name": _text(g("contact_name")), "contact_mobile": _text(g("contact_mobile")),
        "contact_email": _text(g("contact_email")), "need": _text(g("need")),
        "region": _text(g("region")), "industry_code": _text(g("industry_code")),
        "campaign_id": wire_id(g("campaign_id")), "participant_id": wire_id(g("participant_id")),
        "owner_id": _text(g("owner_id")), "assignment_rule": _text(g("assignment_rule")),
        "assigned_at": _iso(g("assigned_at")), "disqualify_reason": _text(g("disqualify_reason")),
        "opportunity_id": _int(g("opportunity_id")), "closed_at": _iso(g("closed_at")),
        "created_at": _iso(g("created_at")), "updated_at": _iso(g("updated_at")),
    }


class RuleOutSchema(RuleSchema):
    class Meta:
        unknown = RAISE

    position = fields.Integer()
    cursor = fields.Integer()


class RulesOutSchema(Schema):
    rules = fields.List(fields.Nested(RuleOutSchema))


class CompetitorOutSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    strengths = fields.String(allow_none=True)
    price_position = fields.String(allow_none=True)


class StageHistoryOutSchema(Schema):
    stage = fields.String()
    entered_at = fields.AwareDateTime()
    left_at = fields.AwareDateTime(allow_none=True)
    seconds = fields.Integer()
    changed_by = fields.String()


class OpportunityOutSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    customer_id = fields.Integer()
    lead_id = fields.Integer(allow_none=True)
    campaign_id = ExternalId(allow_none=True)
    owner_id = fields.String(allow_none=True)
    amount = fields.Decimal(**_MONEY_OUT)
    weighted_amount = fields.Decimal(**_MONEY_OUT)
    expected_close_date = fields.Date(allow_none=True)
    background = fields.String(allow_none=True)
    needs = fields.String(allow_none=True)
    stage = fields.String()
    probability = fields.Float()
    lost_reason = fields.String(allow_none=True)
    competitors = fields.List(fields.Nested(CompetitorOutSchema))
    stage_history = fields.List(fields.Nested(StageHistoryOutSchema))
    time_in_stage = fields.Dict(keys=fields.String(), values=fields.Integer())
    stage_entered_at = fields.AwareDateTime()
    closed_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class FollowUpOutSchema(Schema):
    id = fields.Integer()
    opportunity_id = fields.Integer()
    owner_id = fields.String(allow_none=True)
    due_at = fields.AwareDateTime()
    note = fields.String(allow_none=True)
    status = fields.String()
    overdue = fields.Boolean()
    outcome = fields.String(allow_none=True)
    completed_at = fields.AwareDateTime(allow_none=True)
    on_time = fields.Boolean(allow_none=True)
    created_at = fields.AwareDateTime()


class ActivityOutSchema(Schema):
    id = fields.Integer()
    opportunity_id = fields.Integer()
    owner_id = fields.String(allow_none=True)
    logged_by = fields.String()
    channel = fields.String()
    summary = fields.String()
    at = fields.AwareDateTime()


class OrderLineOutSchema(Schema):
    id = fields.Integer()
    product = fields.String()
    quantity = fields.String()
    unit_price = fields.Decimal(**_MONEY_OUT)
    amount = fields.Decimal(**_MONEY_OUT)


class ShipmentOutSchema(Schema):
    id = fields.Integer()
    shipped_at = fields.AwareDateTime()
    recorded_by = fields.String()


class PaymentOutSchema(Schema):
    id = fields.Integer()
    amount = fields.Decimal(**_MONEY_OUT)
    paid_at = fields.AwareDateTime()
    recorded_by = fields.String()


class OrderChangeOutSchema(Schema):
    id = fields.Integer()
    at = fields.AwareDateTime()
    changed_by = fields.String()
    before = fields.Dict()
    after = fields.Dict()


class OrderOutSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    customer_name = fields.String(allow_none=True, metadata={
        "description": "the customer's name (lists: asked of customers, null if it is "
                       "slow or the customer unknown)"})
    opportunity_id = fields.Integer(allow_none=True)
    campaign_id = ExternalId(allow_none=True)
    owner_id = fields.String(allow_none=True)
    amount = fields.Decimal(**_MONEY_OUT)
    paid_total = fields.Decimal(**_MONEY_OUT)
    outstanding = fields.Decimal(**_MONEY_OUT)
    delivery_date = fields.Date(allow_none=True)
    status = fields.String()
    payment_status = fields.String()
    shipped = fields.Boolean()
    cancel_reason = fields.String(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    lines = fields.List(fields.Nested(OrderLineOutSchema))
    shipments = fields.List(fields.Nested(ShipmentOutSchema))
    payments = fields.List(fields.Nested(PaymentOutSchema))
    changes = fields.List(fields.Nested(OrderChangeOutSchema))
    placed_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


@functools.cache
def item_schema(out_schema):
    """The same fields under another name, for nesting in pages and composites (the
    kit's build_spec registers response schemas by name and would collide with the
    copy the apispec plugin auto-registers for a nested schema)."""
    return type(out_schema.__name__.replace("OutSchema", "ItemSchema"), (out_schema,), {})


def page_schema(out_schema):
    return type(out_schema.__name__.replace("OutSchema", "PageSchema"), (Schema,), {
        "items": fields.List(fields.Nested(item_schema(out_schema))), "total": fields.Integer(),
        "page": fields.Integer(), "page_size": fields.Integer(),
        # keyset paging (issue 20): pass next_cursor back as ?cursor= until it is null;
        # total is an estimate above 1,000 matches
        "next_cursor": fields.String(allow_none=True), "total_is_estimate": fields.Boolean()})


class BoardCardSchema(Schema):
    """A pipeline board card (plain columns: no competitors or history)."""

    id = fields.Integer()
    name = fields.String()
    amount = fields.String()
    weighted_amount = fields.String()
    stage = fields.String()
    owner_id = fields.String(allow_none=True)
    customer_id = fields.Integer()
    expected_close_date = fields.String(allow_none=True)


class BoardColumnSchema(Schema):
    """One board column, keyset-paged by id (``sales.board_column``)."""

    stage = fields.String()
    items = fields.List(fields.Nested(BoardCardSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()
    next_cursor = fields.String(allow_none=True)
    total_is_estimate = fields.Boolean()


LeadPageSchema = page_schema(LeadOutSchema)
OpportunityPageSchema = page_schema(OpportunityOutSchema)
FollowUpPageSchema = page_schema(FollowUpOutSchema)
ActivityPageSchema = page_schema(ActivityOutSchema)
OrderPageSchema = page_schema(OrderOutSchema)


class ForecastBucketSchema(Schema):
    owner_id = fields.String(allow_none=True)
    stage = fields.String()
    probability = fields.Float()
    count = fields.Integer()
    amount = fields.Decimal(**_MONEY_OUT)
    weighted_amount = fields.Decimal(**_MONEY_OUT)


class ForecastOutSchema(Schema):
    period = fields.String()
    from_date = fields.Date()
    to_date = fields.Date()
    timezone = fields.String()
    count = fields.Integer()
    amount = fields.Decimal(**_MONEY_OUT)
    weighted_amount = fields.Decimal(**_MONEY_OUT)
    by_owner = fields.List(fields.Nested(ForecastBucketSchema))
    by_stage = fields.List(fields.Nested(ForecastBucketSchema))
