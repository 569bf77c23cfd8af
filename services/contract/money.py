"""Money in event payloads: a string with at most two places that the receivers'
``Numeric(14, 2)`` columns hold (``services.common.money``), so an event no
column can store is refused by the contract check on SQLite and PostgreSQL
alike instead of being stored on one and failing on the other."""
import marshmallow
from marshmallow import fields

from services.common import money


def _fits(value):
    bad = money.problem(value, signed=True)
    if bad:
        raise marshmallow.ValidationError(bad)


def Money(**kwargs):
    return fields.Decimal(as_string=True, validate=_fits, **kwargs)
