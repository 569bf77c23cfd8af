"""Money and other fixed-point numbers, checked against the column that holds them.

Every money column is ``Numeric(14, 2)`` (``COLUMN``): at most 14 digits, 2 of
them after the point, so the largest amount is 999 999 999 999.99. A value the
column cannot hold is refused, field by field, before any I/O:

- more decimal places than the column's scale are **refused, never rounded**
  (``"1.005"`` is an error, not ``1.01``): the contract says two places, and a
  silent rounding changes what the caller meant. Trailing zeros are fine
  (``"1.500"`` is 1.50);
- more integer digits than ``precision - scale`` are refused: PostgreSQL
  would raise "numeric field overflow" (an undeclared 500) and SQLite, which
  keeps NUMERIC in a double, would store it and lose the cents;
- negative numbers, negative zero included (``"-0.00"``, ``"-0.004"``), are
  refused where the field is unsigned (all money inputs);
- NaN and infinities are refused.

Sums are exact and rounded once (``round_cents``, half-up to cents): a total of
weighted amounts is Σ amount × probability, exact, then rounded; never a sum of
amounts rounded one by one.
"""
import functools
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

COLUMN = (14, 2)  # Numeric(precision, scale) of every money column
CENT = Decimal("0.01")


@functools.cache
def column_max(precision, scale):
    """The largest value Numeric(precision, scale) holds: 10^(p-s) - 10^-s."""
    return Decimal(10) ** (precision - scale) - Decimal(10) ** -scale


MAX = column_max(*COLUMN)  # 999999999999.99


def decimal_places(num):
    """Places after the point once trailing zeros are dropped ("1.500" -> 1),
    without rounding (``normalize`` would round past 28 digits)."""
    _, digits, exp = num.as_tuple()
    digits = list(digits)
    while exp < 0 and len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exp += 1
    return max(0, -exp) if any(digits) else 0


def problem(value, precision=COLUMN[0], scale=COLUMN[1], signed=False):
    """None if the column Numeric(precision, scale) holds ``value`` exactly, else
    a message saying why not. ``value`` is a Decimal (or str/int)."""
    try:
        num = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return "not a valid number"
    if not num.is_finite():
        return "not a finite number"
    if not signed and num.is_signed():
        return "must not be negative" if num else "must not be negative (-0 included)"
    places = 0 if num.as_tuple().exponent >= -scale else decimal_places(num)
    if places > scale:
        return f"at most {scale} decimal places (got {places})"
    top = column_max(precision, scale)
    if abs(num) > top:
        return f"at most {top} (the most the column holds)"
    return None


def round_cents(value):
    """Half-up to cents, once: 900.045 -> 900.05."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
