"""Payloads of the customers service's events. No contact PII (mobile, email)."""
from marshmallow import fields, validate

from services.contract.events import Payload

TYPES = ("potential", "closed", "lost")
TIERS = ("strategic", "key", "normal")


class CustomerPayload(Payload):
    customer_id = fields.Integer(required=True)
    name = fields.String(required=True)
    owner_id = fields.String(allow_none=True, required=True)
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    tier = fields.String(required=True, validate=validate.OneOf(TIERS))
    industry_code = fields.String(required=True)
    region = fields.String(allow_none=True, required=True)
    filled_fields = fields.List(fields.String(), required=True)
    tags = fields.List(fields.String(), load_default=list)


class CustomerUpdatedPayload(CustomerPayload):
    changed_fields = fields.List(fields.String(), required=True)


class CustomerLostPayload(CustomerPayload):
    reason_code = fields.String(required=True)


class CustomerOwnerChangedPayload(CustomerPayload):
    previous_owner_id = fields.String(allow_none=True, required=True)


class CustomerTierChangedPayload(CustomerPayload):
    previous_tier = fields.String(required=True, validate=validate.OneOf(TIERS))


class CustomersMergedPayload(Payload):
    """Two records of one company became one: ``merge_id`` is now a tombstone, its
    contacts, tags, attachments and orders belong to ``keep_id``. Consumers point their
    records of ``merge_id`` at ``keep_id`` (idempotently)."""
    keep_id = fields.Integer(required=True)
    merge_id = fields.Integer(required=True)
    keep_owner_id = fields.String(allow_none=True, load_default=None)
    merge_owner_id = fields.String(allow_none=True, load_default=None)


SCHEMAS = {
    "customer_created": CustomerPayload,
    "customer_updated": CustomerUpdatedPayload,
    "customer_lost": CustomerLostPayload,
    "customer_reactivated": CustomerPayload,
    "customer_owner_changed": CustomerOwnerChangedPayload,
    "customer_tier_changed": CustomerTierChangedPayload,
    "customers_merged": CustomersMergedPayload,
}
