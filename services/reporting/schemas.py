"""reporting's RPC input schemas (validated: period, scope, targets) and output
schemas (for the gateway's OpenAPI)."""
import marshmallow
from marshmallow import RAISE, Schema, fields, validate, validates_schema

from services.common.schemas import ColumnDecimal
from services.reporting import domain


class PeriodField(fields.String):
    """'2026-11' | '2026-Q4' | '2026' → domain.Period."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            return domain.parse_period(value)
        except domain.PeriodError as exc:
            raise marshmallow.ValidationError(str(exc)) from None


class ScopeSchema(Schema):
    class Meta:
        unknown = RAISE

    owner_id = fields.String(validate=validate.Length(min=1, max=64))
    department = fields.String(validate=validate.OneOf(domain.DEPARTMENTS))

    @validates_schema
    def _one(self, data, **kwargs):
        if len(data) != 1:
            raise marshmallow.ValidationError(
                "give exactly one of owner_id or department (or no scope)", "_schema")


class KpiQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    period = PeriodField(required=True)
    scope = fields.Nested(ScopeSchema, allow_none=True, load_default=None)


class ScorecardQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    employee_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    period = PeriodField(required=True)
    role = fields.String(allow_none=True, load_default=None,
                         validate=validate.OneOf(tuple(domain.SCORECARD_KPIS)))


class TargetItemSchema(Schema):
    class Meta:
        unknown = RAISE

    role = fields.String(required=True, validate=validate.OneOf(tuple(domain.SCORECARD_KPIS)))
    kpi = fields.String(required=True)
    # bounded by their columns, Numeric(16, 4) and Numeric(8, 4): more places refused
    target = ColumnDecimal(16, 4, as_string=False, required=True,
                           validate=validate.Range(min=0, min_inclusive=False))
    weight = ColumnDecimal(8, 4, as_string=False, required=True,
                           validate=validate.Range(min=0, max=100))

    @validates_schema
    def _kpi_of_role(self, data, **kwargs):
        if data.get("role") in domain.SCORECARD_KPIS and \
                data.get("kpi") not in domain.SCORECARD_KPIS[data["role"]]:
            raise marshmallow.ValidationError(
                f"not a {data['role']} scorecard KPI", "kpi")


class TargetsInSchema(Schema):
    class Meta:
        unknown = RAISE

    employee_id = fields.String(allow_none=True, load_default=None,
                                validate=validate.Length(min=1, max=64))
    targets = fields.List(fields.Nested(TargetItemSchema), required=True,
                          validate=validate.Length(min=1, max=20))


class StaffDepartmentSchema(Schema):
    class Meta:
        unknown = RAISE

    employee_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    department = fields.String(required=True, validate=validate.OneOf(domain.DEPARTMENTS))


class CampaignIdSchema(Schema):
    class Meta:
        unknown = RAISE

    campaign_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


# --- outputs (documentation for /openapi.json) -------------------------------------------
class CampaignRowSchema(Schema):
    campaign_id = fields.String()
    theme = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    format = fields.String(allow_none=True)
    launched_at = fields.String(allow_none=True)
    participants = fields.Integer()
    leads_generated = fields.Integer()
    leads_converted = fields.Integer()
    won_amount = fields.String()
    cost = fields.String()
    roi = fields.Float(allow_none=True)


class CampaignReportSchema(CampaignRowSchema):
    completed_at = fields.String(allow_none=True)
    feedback_count = fields.Integer()
    feedback_average = fields.Float(allow_none=True)
    conversion_rate = fields.Float(allow_none=True)


class KpisSchema(Schema):
    customers_new = fields.Integer()
    customer_info_completeness = fields.Float(allow_none=True)
    leads_new = fields.Integer()
    lead_conversion_rate = fields.Float(allow_none=True)
    opportunity_win_rate = fields.Float(allow_none=True)
    sales_amount = fields.String()
    payments_received = fields.String()
    weighted_pipeline = fields.String()
    follow_up_completion_rate = fields.Float(allow_none=True)
    tickets_new = fields.Integer()
    tickets_new_by_kind = fields.Dict(keys=fields.String(), values=fields.Integer())
    complaint_timeliness_rate = fields.Float(allow_none=True)
    first_response_timeliness_rate = fields.Float(allow_none=True)
    csat_average = fields.Float(allow_none=True)
    csat_satisfied_rate = fields.Float(allow_none=True)
    retention_rate = fields.Float(allow_none=True)
    churn_rate = fields.Float(allow_none=True)
    care_visits_done = fields.Integer()
    campaigns = fields.List(fields.Nested(CampaignRowSchema))


class ScorecardItemSchema(Schema):
    kpi = fields.String()
    actual = fields.Raw(allow_none=True)
    target = fields.Float()
    weight = fields.Float()
    achievement = fields.Float(allow_none=True)


class ScorecardSchema(Schema):
    employee_id = fields.String()
    role = fields.String()
    period = fields.String()
    score = fields.Float(allow_none=True)
    items = fields.List(fields.Nested(ScorecardItemSchema))


class WatchItemSchema(Schema):
    customer_id = fields.String()
    name = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    tier = fields.String(allow_none=True)
    signals = fields.List(fields.String())
    risk_score = fields.Integer()
    last_order_at = fields.String(allow_none=True)
    latest_csat = fields.Integer(allow_none=True)


class WatchPageSchema(Schema):
    items = fields.List(fields.Nested(WatchItemSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()
    next_cursor = fields.String(allow_none=True)  # pass back as ?cursor= (issue 20)
    total_is_estimate = fields.Boolean()


class FreshnessSchema(Schema):
    events_applied = fields.Integer()
    sample = fields.Integer()
    lag_p50_seconds = fields.Float(allow_none=True)
    lag_p95_seconds = fields.Float(allow_none=True)
    lag_max_seconds = fields.Float(allow_none=True)
    last_applied_at = fields.String(allow_none=True)
    seconds_since_last_apply = fields.Float(allow_none=True)
