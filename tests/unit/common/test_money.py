"""Money fields are bounded by their columns (issue 16 item 6).

Every money column is ``Numeric(14, 2)`` (see the models): 14 digits, 2 after
the point, so by the SQL standard's definition of NUMERIC(p, s) it holds
-999999999999.99 .. 999999999999.99 and nothing finer than a cent. Quantities
are ``Numeric(14, 3)`` and the contract caps them at 10 000 000. The references
below are written from that definition on the decimal *text* (digit counting,
integer cents), never with the code under test.
"""
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema
from sqlalchemy import Numeric

from services.common.errors import ValidationError
from services.common.schemas import Money, load
from services.common.uow import make_envelope
from services.contract.events import validate_event
from services.customers.models import Base as CustomersBase
from services.customers.schemas import CustomerInSchema
from services.marketing.models import Base as MarketingBase
from services.marketing.schemas import CampaignInSchema
from services.reporting.models import Base as ReportingBase
from services.reporting.schemas import TargetItemSchema
from services.sales.models import Base as SalesBase
from services.sales.schemas import OpportunityInSchema, OrderChangesSchema, OrderInSchema

COLUMN_MAX = "999999999999.99"  # NUMERIC(14, 2): 12 integer digits, 2 places
COLUMN_MAX_CENTS = 99_999_999_999_999


class One(Schema):
    amount = Money(required=True)


def refused(schema, data):
    with pytest.raises(ValidationError) as err:
        load(schema, data)
    return err.value.fields


# --- the reference: NUMERIC(14, 2) on the text -------------------------------------
_NUM = re.compile(r"^([+-]?)(\d*)(?:\.(\d*))?$")


def reference(text):
    """The value the column stores ("123.40"), or None if it cannot hold ``text``
    exactly (a negative sign, -0 included, is refused: money inputs are unsigned)."""
    m = _NUM.match(text)
    if not m or not (m.group(2) or m.group(3)):
        return None
    sign, whole, frac = m.group(1), m.group(2).lstrip("0"), (m.group(3) or "").rstrip("0")
    if sign == "-" or len(frac) > 2 or len(whole) > 12:
        return None
    return f"{whole or '0'}.{frac.ljust(2, '0')}"


def dumped(text):
    try:
        return One().dump(load(One(), {"amount": text}))["amount"]
    except ValidationError as exc:
        assert list(exc.fields) == ["amount"]
        return None


@pytest.mark.parametrize("text,stored", [
    ("0", "0.00"), ("0.00", "0.00"), ("1.5", "1.50"), ("1.500", "1.50"), ("120.5", "120.50"),
    (COLUMN_MAX, COLUMN_MAX), ("000999999999999.990", COLUMN_MAX),
    ("1000000000000", None), ("1000000000000.00", None),
    ("12345678901234.56", None),  # 16 digits: SQLite would keep it in a double, losing cents
    ("1.005", None), ("0.001", None), ("1.2345", None),  # refused, never rounded
    ("-0", None), ("-0.00", None), ("-0.004", None), ("-1.00", None),
])
def test_money_text_against_column_definition(text, stored):
    assert reference(text) == stored  # the reference agrees with the table
    assert dumped(text) == stored


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400", "abc", "", True,
                                   [], {}])
def test_money_refuses_what_is_not_a_finite_number(value):
    assert "amount" in refused(One(), {"amount": value})


def test_money_messages_say_why():
    assert refused(One(), {"amount": "1.005"})["amount"] == ["at most 2 decimal places (got 3)"]
    assert refused(One(), {"amount": "-0.00"})["amount"] == [
        "must not be negative (-0 included)"]
    assert refused(One(), {"amount": "1000000000000"})["amount"] == [
        f"at most {COLUMN_MAX} (the most the column holds)"]


def test_json_numbers_are_read_by_their_decimal_text():
    assert dumped(1000.05) == "1000.05" and dumped(7) == "7.00"
    assert dumped(0.1 + 0.2) is None  # 0.30000000000000004: more than 2 places


_digits = st.text(alphabet="0123456789", max_size=16)


@settings(max_examples=400, deadline=None)
@given(sign=st.sampled_from(["", "", "-", "+"]), whole=_digits,
       frac=st.none() | st.text(alphabet="0123456789", max_size=5))
def test_money_property_matches_the_reference(sign, whole, frac):
    text = sign + whole + ("" if frac is None else "." + frac)
    if not (whole or frac):
        return
    assert dumped(text) == reference(text)


# --- every money input of every service ----------------------------------------------
@pytest.mark.parametrize("schema,data,field", [
    (OpportunityInSchema, {"customer_id": 1, "expected_close_date": "2030-01-01"}, "amount"),
    (CustomerInSchema, None, "annual_budget"),
    (CampaignInSchema, None, "budget"),
    (CampaignInSchema, None, "cost"),
])
@pytest.mark.parametrize("bad", ["1000000000000.00", "1.001", "-0.00", "-0.004"])
def test_every_money_field_is_bounded(schema, data, field, bad):
    fields = refused(schema(), dict(data or {}, **{field: bad}))
    assert field in fields


def test_scorecard_target_bounded_by_numeric_16_4():
    ok = {"role": "sales", "kpi": "sales_amount", "target": "999999999999.9999", "weight": "1"}
    assert str(load(TargetItemSchema(), ok)["target"]) == "999999999999.9999"
    assert "target" in refused(TargetItemSchema(), dict(ok, target="1000000000000"))
    assert "target" in refused(TargetItemSchema(), dict(ok, target="1.00001"))
    assert "weight" in refused(TargetItemSchema(), dict(ok, weight="0.00001"))


# --- orders: lines and totals fit their columns ---------------------------------------
def order(*lines):
    return {"customer_id": 1, "lines": [
        {"product": "p", "quantity": q, "unit_price": p} for q, p in lines]}


def test_issue_sample_ten_million_times_two_hundred_thousand_is_refused():
    fields = refused(OrderInSchema(), order(("10000000", "200000.00")))
    assert list(fields) == ["lines"]
    assert "2000000000000.00" in fields["lines"]["0"]["unit_price"][0]


def test_order_total_over_the_column_names_amount():
    half = ("1", "500000000000.00")
    load(OrderInSchema(), order(half, ("1", "499999999999.99")))  # exactly the column's max
    fields = refused(OrderInSchema(), order(half, half))  # 1 000 000 000 000.00
    assert list(fields) == ["amount"] and "1000000000000.00" in fields["amount"][0]
    assert list(refused(OrderChangesSchema(), {"lines": order(half, half)["lines"]})) == [
        "amount"]


@pytest.mark.parametrize("quantity", ["0", "-0", "-0.000", "0.0001", "10000000.001", "1e9"])
def test_quantity_bounded(quantity):
    fields = refused(OrderInSchema(), order((quantity, "1.00")))
    assert "quantity" in fields["lines"]["0"]


def _reference_line_cents(quantity, unit_price):
    """quantity (≤ 3 places) × unit price (cents), half-up to cents, in integers."""
    q_milli = int(quantity.replace(".", "")) if "." in quantity else int(quantity) * 1000
    whole, _, frac = unit_price.partition(".")
    cents = int(whole) * 100 + int(frac.ljust(2, "0"))
    return (q_milli * cents + 500) // 1000


@settings(max_examples=300, deadline=None)
@given(q_whole=st.integers(0, 10_000_000), q_milli=st.integers(0, 999),
       p_whole=st.integers(0, 999_999_999_999), p_cents=st.integers(0, 99))
def test_line_amount_property(q_whole, q_milli, p_whole, p_cents):
    quantity = f"{q_whole}.{q_milli:03d}"
    price = f"{p_whole}.{p_cents:02d}"
    q_ok = 0 < q_whole * 1000 + q_milli <= 10_000_000_000
    expected_cents = _reference_line_cents(quantity, price)
    try:
        load(OrderInSchema(), order((quantity, price)))
        accepted = True
    except ValidationError as exc:
        accepted = False
        line = exc.fields["lines"]["0"]
        if q_ok:
            assert list(line) == ["unit_price"]
    assert accepted == (q_ok and expected_cents <= COLUMN_MAX_CENTS)


# --- the bounds are the columns' ------------------------------------------------------
def test_every_numeric_column_is_the_one_the_bounds_are_written_for():
    """If a column changes, the bound written above must be revisited."""
    bases = (CustomersBase, MarketingBase, ReportingBase, SalesBase)
    seen = {(t.name, c.name): (c.type.precision, c.type.scale)
            for base in bases for t in base.metadata.tables.values() for c in t.columns
            if type(c.type) is Numeric}
    special = {("order_lines", "quantity"): (14, 3),
               ("rpt_scorecard_targets", "target"): (16, 4),
               ("rpt_scorecard_targets", "weight"): (8, 4)}
    for key, ps in seen.items():
        assert ps == special.get(key, (14, 2)), key
    assert set(special) <= set(seen) and len(seen) >= 17  # 17 Numeric columns today


def test_event_money_the_receivers_columns_cannot_hold_is_refused():
    def placed(amount):
        return validate_event(make_envelope("sales", "order_placed", {
            "order_id": 1, "customer_id": 1, "owner_id": "u1", "amount": amount}))

    assert placed(COLUMN_MAX) == {} and placed("12.5") == {}
    for bad in ("1000000000000.00", "1.001", "NaN"):
        assert "amount" in placed(bad)["data"], bad


def test_openapi_documents_each_bound():
    from services.common.openapi import build_spec
    from services.sales.gateway import SalesGateway
    schemas = build_spec(SalesGateway, "t")["components"]["schemas"]
    price = schemas["OrderLine"]["properties"]["unit_price"]
    assert (price["x-maximum"], price["x-decimal-places"]) == (COLUMN_MAX, 2)
    assert re.match(price["pattern"], COLUMN_MAX)
    assert not re.match(price["pattern"], "1000000000000.00")
    assert not re.match(price["pattern"], "1.005") and not re.match(price["pattern"], "-0.00")
    assert schemas["OrderLine"]["properties"]["quantity"]["x-maximum"] == "10000000"
