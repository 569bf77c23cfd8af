"""Payloads of the marketing service's events.

``campaign_lead_generated`` carries what sales needs to create and assign the
lead (company, contact name, need, region, industry) but never a mobile or an
email: sales asks marketing's RPC for contact details when it needs them.
"""
from marshmallow import fields, validate

from services.contract.events import AuditCheckpointPayload, Payload
from services.contract.money import Money

FORMATS = ("online", "offline", "exhibition", "salon", "promotion")
Id = fields.Raw


class CampaignPayload(Payload):
    campaign_id = Id(required=True)
    owner_id = fields.String(allow_none=True, required=True)
    theme = fields.String()
    format = fields.String(validate=validate.OneOf(FORMATS))
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    cost = Money()
    audience_size = fields.Integer()


class ParticipantPayload(Payload):
    campaign_id = Id(required=True)
    participant_id = Id(required=True)
    customer_id = Id(allow_none=True)


class FeedbackPayload(ParticipantPayload):
    score = fields.Integer(required=True, validate=validate.Range(min=1, max=5))


class LeadGeneratedPayload(ParticipantPayload):
    company_name = fields.String(required=True)
    contact_name = fields.String(allow_none=True)
    need = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    industry_code = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)  # campaign owner (not the lead's owner)


class CampaignCompletedPayload(CampaignPayload):
    participants = fields.Integer()
    attended = fields.Integer()


SCHEMAS = {
    "campaign_launched": CampaignPayload,
    "participant_registered": ParticipantPayload,
    "campaign_feedback_recorded": FeedbackPayload,
    "campaign_lead_generated": LeadGeneratedPayload,
    "campaign_completed": CampaignCompletedPayload,
    "audit_checkpoint": AuditCheckpointPayload,
}
