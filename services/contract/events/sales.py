"""Payloads of the sales service's events.

Every sales event names its ``owner_id`` (the owner at the time of the event)
so reporting can scope KPIs per owner without calling sales. Money is a
string with two places. ``campaign_id`` travels from the lead to the
opportunity and its orders so marketing can evaluate campaigns.
"""
from marshmallow import fields, validate

from services.contract.events import AuditCheckpointPayload, Payload
from services.contract.money import Money

SOURCES = ("trade_show", "website", "referral", "campaign", "phone", "other")
STAGES = ("qualify", "propose", "negotiate")
Id = fields.Raw  # int or str: the owning service decides


class LeadPayload(Payload):
    lead_id = Id(required=True)
    owner_id = fields.String(allow_none=True, required=True)
    source = fields.String(validate=validate.OneOf(SOURCES))
    customer_id = Id(allow_none=True)
    campaign_id = Id(allow_none=True)
    participant_id = Id(allow_none=True)
    region = fields.String(allow_none=True)
    industry_code = fields.String(allow_none=True)


class LeadAssignedPayload(LeadPayload):
    previous_owner_id = fields.String(allow_none=True)
    rule = fields.String(allow_none=True)  # region|industry|named|round_robin|manual


class LeadConvertedPayload(LeadPayload):
    opportunity_id = Id(required=True)
    customer_id = Id(required=True)


class LeadDisqualifiedPayload(LeadPayload):
    reason = fields.String(required=True)


class OpportunityPayload(Payload):
    opportunity_id = Id(required=True)
    customer_id = Id(required=True)
    owner_id = fields.String(allow_none=True, required=True)
    amount = Money()
    stage = fields.String(validate=validate.OneOf(STAGES + ("won", "lost")))
    probability = fields.Float()
    expected_close_date = fields.Date(allow_none=True)
    lead_id = Id(allow_none=True)
    campaign_id = Id(allow_none=True)


class StageChangedPayload(OpportunityPayload):
    from_stage = fields.String(required=True)
    stage = fields.String(required=True)


class OpportunityLostPayload(OpportunityPayload):
    reason = fields.String(required=True)


class FollowUpPayload(Payload):
    follow_up_id = Id(required=True)
    opportunity_id = Id(required=True)
    owner_id = fields.String(allow_none=True, required=True)
    due_at = fields.AwareDateTime(required=True)


class FollowUpCompletedPayload(FollowUpPayload):
    completed_at = fields.AwareDateTime(required=True)
    on_time = fields.Boolean(required=True)


class OrderPayload(Payload):
    order_id = Id(required=True)
    customer_id = Id(required=True)
    owner_id = fields.String(allow_none=True, required=True)
    amount = Money()
    opportunity_id = Id(allow_none=True)
    campaign_id = Id(allow_none=True)


class OrderPlacedPayload(OrderPayload):
    amount = Money(required=True)
    delivery_date = fields.Date(allow_none=True)


class OrderChangedPayload(OrderPayload):
    amount = Money(required=True)
    previous_amount = Money()
    changed_fields = fields.List(fields.String())


class OrderShippedPayload(OrderPayload):
    shipment_id = Id()
    shipped_at = fields.AwareDateTime()


class PaymentPayload(OrderPayload):
    payment_id = Id(required=True)
    amount = Money(required=True)
    paid_total = Money()
    outstanding = Money()


class OrderCancelledPayload(OrderPayload):
    reason = fields.String(required=True)


SCHEMAS = {
    "lead_created": LeadPayload,
    "lead_assigned": LeadAssignedPayload,
    "lead_converted": LeadConvertedPayload,
    "lead_disqualified": LeadDisqualifiedPayload,
    "opportunity_created": OpportunityPayload,
    "opportunity_stage_changed": StageChangedPayload,
    "opportunity_won": OpportunityPayload,
    "opportunity_lost": OpportunityLostPayload,
    "follow_up_scheduled": FollowUpPayload,
    "follow_up_completed": FollowUpCompletedPayload,
    "order_placed": OrderPlacedPayload,
    "order_changed": OrderChangedPayload,
    "order_shipped": OrderShippedPayload,
    "payment_received": PaymentPayload,
    "order_cancelled": OrderCancelledPayload,
    "audit_checkpoint": AuditCheckpointPayload,
}
