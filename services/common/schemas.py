"""Shared marshmallow pieces: identifier fields, money, paging, and ``load``.

``load`` is the one way RPC input enters a service: the sensitive-data scan
runs on every text value first, then the schema; any problem becomes a
declared ``ValidationError`` with field-by-field messages, before anything
is written.
"""
import decimal

import marshmallow
from marshmallow import Schema, fields, validate

from services.common import identifiers, money, wire
from services.common.errors import ValidationError
from services.common.sensitive import scan
from services.common.unicode_digits import fold

MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000_000  # (page - 1) * page_size must stay a small OFFSET


class _Checked(fields.String):
    check = None

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            return type(self).check(value)
        except ValueError as exc:
            raise marshmallow.ValidationError(str(exc)) from None


class USCC(_Checked):
    check = staticmethod(identifiers.validate_uscc)


class Mobile(_Checked):
    check = staticmethod(identifiers.normalize_mobile)


class ContactText(_Checked):
    """Free text that may hold a phone number (a complainant's "phone or email"):
    stored with its digits folded to ASCII by the mobiles' rule (NFKC + any
    script's digits), never as ``13８00138000`` or ``١٣٨…``."""
    check = staticmethod(fold)


class IndustryCode(_Checked):
    check = staticmethod(identifiers.validate_industry_code)


class ColumnDecimal(fields.Decimal):
    """A Decimal the column ``Numeric(precision, scale)`` holds exactly, a string
    on the wire. Refused (see ``services.common.money``): more places than
    ``scale`` (never rounded), more digits than the column holds, a negative
    value or ``-0`` unless ``signed``, NaN and infinities."""

    def __init__(self, precision, scale, signed=False, **kwargs):
        kwargs.setdefault("as_string", True)
        super().__init__(places=scale, rounding=decimal.ROUND_HALF_UP, **kwargs)
        self.precision, self.scale, self.signed = precision, scale, signed

    def _validated(self, value):
        if value is True or value is False or not isinstance(value, (str, int, float,
                                                                      decimal.Decimal)):
            raise self.make_error("invalid", input=value)
        try:
            num = decimal.Decimal(str(value).strip())
        except (decimal.InvalidOperation, ValueError):
            raise self.make_error("invalid", input=value) from None
        bad = money.problem(num, self.precision, self.scale, self.signed)
        if bad:
            raise marshmallow.ValidationError(bad)
        return num.quantize(self.places)


def Money(**kwargs):
    """Money (CNY): Decimal with 2 places, a string on the wire (``"1234.50"``),
    bounded by its ``Numeric(14, 2)`` column; see ``services.common.money``."""
    return ColumnDecimal(*money.COLUMN, **kwargs)


class PageSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    page_size = fields.Integer(load_default=20,
                               validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


def _flatten(messages):
    if isinstance(messages, dict):
        return {str(k): _flatten(v) for k, v in messages.items()}
    return messages


def load(schema, data, partial=None, scan_skip=("uscc",)):
    """Scan, then load ``data`` with ``schema``; raise ValidationError on any problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationError("Invalid input", {"_schema": ["must be an object"]})
    bad = wire.problems(data)
    if bad:
        raise ValidationError("Invalid input", bad)
    hits = scan(data, skip=scan_skip)
    if hits:
        raise ValidationError("Sensitive data is not allowed", hits, code="SENSITIVE_DATA")
    try:
        return schema.load(data, partial=partial)
    except marshmallow.ValidationError as exc:
        raise ValidationError("Invalid input", _flatten(exc.messages)) from None


def page_args(page, page_size):
    args = load(PageSchema(), {"page": page, "page_size": page_size})
    return args["page"], args["page_size"]


def paged(items, total, page, page_size):
    return {"items": items, "total": total, "page": page, "page_size": page_size}
