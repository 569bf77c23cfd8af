"""Payloads of the customers service's events. No contact PII (mobile, email)."""
from marshmallow import fields, validate

from services.contract.events import AuditCheckpointPayload, Payload

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


class ContactErasedPayload(Payload):
    """A contact person's personal data (name, mobile, email, birthday) was erased
    (PIPL): every service erases its copies. The values themselves never travel: each
    is given as sha256(salt + value) (mobile as 11 digits, email lower-cased, name
    stripped), so a holder finds its copies of that customer's contact by hashing its
    own values with the event's salt."""
    customer_id = fields.Integer(required=True)
    contact_id = fields.Integer(required=True)
    salt = fields.String(required=True, validate=validate.Length(min=16))
    digests = fields.Dict(keys=fields.String(validate=validate.OneOf(
        ("name", "mobile", "email"))), values=fields.String(), required=True)
    erased_at = fields.String(required=True)


SCHEMAS = {
    "customer_created": CustomerPayload,
    "customer_updated": CustomerUpdatedPayload,
    "customer_lost": CustomerLostPayload,
    "customer_reactivated": CustomerPayload,
    "customer_owner_changed": CustomerOwnerChangedPayload,
    "customer_tier_changed": CustomerTierChangedPayload,
    "customers_merged": CustomersMergedPayload,
    "contact_erased": ContactErasedPayload,
    "audit_checkpoint": AuditCheckpointPayload,
}
