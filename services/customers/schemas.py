"""customers' RPC input and output schemas."""
import datetime as dt
from decimal import Decimal

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

from services.common.errors import validation_error
from services.common.schemas import USCC, IndustryCode, Mobile, Money
from services.customers.domain import CHANNELS, LOST_REASONS, SCALES, TIERS, TYPES

_TAG = fields.String(validate=validate.Length(min=1, max=32))
SORTS = ("id", "name", "-name", "updated", "-updated")  # list order; default id
EXPORT_MAX_BATCH = 1000


def export_args(cursor, limit):
    """``export_customers``' (after id, batch size), or a declared ValidationError naming
    the field."""
    fields_ = {}
    after = None
    if cursor not in (None, ""):
        try:
            after = int(cursor)
        except (TypeError, ValueError):
            after = None
        if after is None or not 0 <= after <= 2 ** 63 - 1:
            fields_["cursor"] = ["not a cursor this list returned"]
    if isinstance(limit, bool) or not isinstance(limit, int) \
            or not 1 <= limit <= EXPORT_MAX_BATCH:
        fields_["limit"] = [f"an integer from 1 to {EXPORT_MAX_BATCH}"]
    if fields_:
        raise validation_error(fields_)
    return after, limit


class ContactSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    title = fields.String(allow_none=True, validate=validate.Length(max=64))
    mobile = Mobile(allow_none=True)
    email = fields.Email(allow_none=True)
    birthday = fields.Date(allow_none=True)
    preferred_channel = fields.String(allow_none=True, validate=validate.OneOf(CHANNELS))
    is_primary = fields.Boolean(load_default=False)


class CustomerInSchema(Schema):
    """create_customer(data); update_customer uses it with partial=True."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    uscc = USCC(required=True)
    industry_code = IndustryCode(required=True)
    region = fields.String(allow_none=True, validate=validate.Length(max=64))
    scale = fields.String(allow_none=True, validate=validate.OneOf(SCALES))
    annual_budget = Money(allow_none=True)
    needs = fields.String(allow_none=True, validate=validate.Length(max=4000))
    source_channel = fields.String(allow_none=True, validate=validate.Length(max=32))
    type = fields.String(required=True, validate=validate.OneOf(("potential", "closed")))
    tags = fields.List(_TAG, load_default=list, validate=validate.Length(max=50))
    owner_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    influence = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=5))
    cooperation_since = fields.Date(allow_none=True)
    contacts = fields.List(fields.Nested(ContactSchema), required=True,
                           validate=validate.Length(min=1, max=20))


class CustomerChangesSchema(CustomerInSchema):
    version = fields.Integer(validate=validate.Range(min=1))

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not {k for k in data if k != "version"}:
            raise ValidationError("no changes given", "_schema")


UPDATABLE = ("name", "industry_code", "region", "scale", "annual_budget", "needs",
             "source_channel", "type", "influence", "cooperation_since", "contacts", "uscc")


class _UTC(fields.DateTime):
    """An ISO 8601 date-time; without an offset it is UTC."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


class ListFiltersSchema(Schema):
    class Meta:
        unknown = RAISE

    tags_all = fields.List(_TAG)
    tags_any = fields.List(_TAG)
    type = fields.String(validate=validate.OneOf(TYPES))
    tier = fields.String(validate=validate.OneOf(TIERS))
    owner_id = fields.String()
    industry_code = fields.String(validate=validate.Length(max=8))
    region = fields.String(validate=validate.Length(max=64))
    q = fields.String(validate=validate.Length(max=100))
    sort = fields.String(validate=validate.OneOf(SORTS))
    # ranges: *_from inclusive, *_to exclusive; a time without an offset is UTC
    created_from = _UTC()
    created_to = _UTC()
    updated_from = _UTC()
    updated_to = _UTC()


class TagsSchema(Schema):
    tags = fields.List(_TAG, required=True, validate=validate.Length(min=1, max=50))


class LostSchema(Schema):
    reason_code = fields.String(required=True, validate=validate.OneOf(LOST_REASONS))
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class OwnerSchema(Schema):
    owner_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class MergeSchema(Schema):
    keep_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    merge_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class MergeBodySchema(Schema):
    """``POST /customers/<keep_id>/merge``: the customer merged into the path's one."""
    merge_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class DuplicateSchema(Schema):
    """A likely duplicate (a warning): its id, company name and why."""
    id = fields.Integer()
    name = fields.String()
    reason = fields.String(metadata={"enum": ["same_name", "same_mobile",
                                              "similar_name_same_region"]})
    row = fields.Integer(metadata={"description": "import only: the row it warns about"})


class AttachmentInSchema(Schema):
    filename = fields.String(required=True, validate=validate.Length(min=1, max=255))
    content_b64 = fields.String(required=True)


class ContactOutSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    title = fields.String(allow_none=True)
    mobile = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    birthday = fields.Date(allow_none=True)
    preferred_channel = fields.String(allow_none=True)
    is_primary = fields.Boolean()


class CustomerOutSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    uscc = fields.String()
    industry_code = fields.String()
    region = fields.String(allow_none=True)
    scale = fields.String(allow_none=True)
    annual_budget = fields.Decimal(places=2, as_string=True, allow_none=True)
    needs = fields.String(allow_none=True)
    source_channel = fields.String(allow_none=True)
    type = fields.String()
    tags = fields.List(fields.String())
    owner_id = fields.String(allow_none=True)
    tier = fields.String()
    influence = fields.Integer(allow_none=True)
    cooperation_since = fields.Date(allow_none=True)
    contacts = fields.List(fields.Nested(ContactOutSchema))
    lost_reason = fields.String(allow_none=True)
    lost_note = fields.String(allow_none=True)
    lost_at = fields.AwareDateTime(allow_none=True)
    completeness = fields.Float()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    version = fields.Integer()


class CustomerPageSchema(Schema):
    items = fields.List(fields.Nested(CustomerOutSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()
    next_cursor = fields.String(allow_none=True, metadata={
        "description": "pass back as cursor for the next page (keyset); null at the end"})
    total_is_estimate = fields.Boolean(metadata={
        "description": "true when total is an estimate (more than 1,000 matches)"})


class CustomerWrittenSchema(CustomerOutSchema):
    """create/update answers: the customer plus its likely duplicates (warnings)."""
    duplicates = fields.List(fields.Nested(DuplicateSchema))


class HistoryOutSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    seq = fields.Integer()
    operator_id = fields.String()
    at = fields.AwareDateTime()
    action = fields.String()
    changes = fields.List(fields.Dict())
    hash = fields.String()


class AttachmentOutSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_by = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class ImportRowSchema(Schema):
    """One flat CSV row of ``crm import customers`` / ``import_customers``."""

    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True)
    uscc = fields.String(required=True)
    industry_code = fields.String(required=True)
    region = fields.String(allow_none=True)
    scale = fields.String(allow_none=True)
    annual_budget = fields.String(allow_none=True)
    needs = fields.String(allow_none=True)
    source_channel = fields.String(allow_none=True)
    type = fields.String(required=True)
    owner_id = fields.String(allow_none=True)
    tags = fields.String(allow_none=True)
    contact_name = fields.String(required=True)
    contact_title = fields.String(allow_none=True)
    contact_mobile = fields.String(required=True)
    contact_email = fields.String(allow_none=True)


# --- the hot path: a hand-written equivalent of CustomerOutSchema().dump ----------------
# marshmallow's dump is ~40 % of a get_customer's own CPU; this produces the identical
# dict (tests/unit/customers/test_dump.py compares the two on varied records).
_CUSTOMER_TEXT = ("name", "uscc", "industry_code", "region", "scale", "needs",
                  "source_channel", "type", "owner_id", "tier", "lost_reason", "lost_note")
_CONTACT_TEXT = ("name", "title", "mobile", "email", "preferred_channel")
_TWO_PLACES = Decimal("0.01")


def _text(v):
    return None if v is None else str(v)


def _iso(v):
    return None if v is None else v.isoformat()


def _money(v):
    if v is None:
        return None
    if not isinstance(v, Decimal):
        v = Decimal(str(v))
    return format(v.quantize(_TWO_PLACES), "f")


def _bool(v):
    if v is None:
        return None
    return bool(v)


def dump_contact(c):
    out = {"id": None if c.get("id") is None else int(c["id"])}
    for k in _CONTACT_TEXT:
        out[k] = _text(c.get(k))
    out["birthday"] = _iso(c.get("birthday"))
    out["is_primary"] = _bool(c.get("is_primary"))
    return out


def dump_customer(c):
    """The same dict as ``CustomerOutSchema().dump(c)`` for a ``to_output`` dict."""
    out = {"id": None if c["id"] is None else int(c["id"])}
    for k in _CUSTOMER_TEXT:
        out[k] = _text(c[k])
    out["annual_budget"] = _money(c["annual_budget"])
    out["tags"] = [str(t) for t in c["tags"]]
    influence = c["influence"]
    out["influence"] = None if influence is None else int(influence)
    out["cooperation_since"] = _iso(c["cooperation_since"])
    out["contacts"] = [dump_contact(x) for x in c["contacts"]]
    out["lost_at"] = _iso(c["lost_at"])
    completeness = c["completeness"]
    out["completeness"] = None if completeness is None else float(completeness)
    out["created_at"] = _iso(c["created_at"])
    out["updated_at"] = _iso(c["updated_at"])
    out["version"] = None if c["version"] is None else int(c["version"])
    return out
