import datetime as dt
from decimal import Decimal

import pytest

from services.sales import domain

UTC = dt.UTC


# --- stages ----------------------------------------------------------------------
def test_stage_probabilities_follow_kpis():
    assert [domain.probability(s) for s in domain.STAGES] == [0.3, 0.6, 0.9]
    assert domain.probability("won") == 1.0 and domain.probability("lost") == 0.0


@pytest.mark.parametrize("current,target", [
    ("qualify", "propose"), ("propose", "negotiate"), ("negotiate", "propose"),
    ("propose", "qualify"), ("qualify", "lost"), ("negotiate", "lost"), ("negotiate", "won")])
def test_legal_transitions(current, target):
    assert domain.stage_problem(current, target) is None


@pytest.mark.parametrize("current,target,words", [
    ("qualify", "negotiate", "one step"), ("negotiate", "qualify", "one step"),
    ("qualify", "won", "from negotiate"), ("propose", "won", "from negotiate"),
    ("won", "lost", "already won"), ("lost", "qualify", "already lost"),
    ("propose", "propose", "already in propose"), ("qualify", "closed", "unknown")])
def test_illegal_transitions(current, target, words):
    assert words in domain.stage_problem(current, target)


def test_time_in_stages_sums_rows_and_counts_open_row_to_now():
    t0 = dt.datetime(2026, 1, 1, tzinfo=UTC)
    h = [{"stage": "qualify", "entered_at": t0, "left_at": t0 + dt.timedelta(hours=2)},
         {"stage": "propose", "entered_at": t0 + dt.timedelta(hours=2),
          "left_at": t0 + dt.timedelta(hours=3)},
         {"stage": "qualify", "entered_at": t0 + dt.timedelta(hours=3), "left_at": None}]
    now = t0 + dt.timedelta(hours=4)
    assert domain.time_in_stages(h, now) == {"qualify": 3 * 3600, "propose": 3600}


# --- money ---------------------------------------------------------------------------
def test_order_amount_is_exact_decimal():
    lines = [{"quantity": Decimal("3"), "unit_price": Decimal("0.10")},
             {"quantity": Decimal("1.5"), "unit_price": Decimal("19.99")},
             {"quantity": Decimal("0.333"), "unit_price": Decimal("3.00")}]
    # 0.30 + 29.985 → 29.99 (half up) + 0.999 → 1.00
    assert domain.order_amount(lines) == Decimal("31.29")
    assert isinstance(domain.order_amount(lines), Decimal)
    assert domain.line_amount("1.5", "19.99") == Decimal("29.99")


def test_float_trap_avoided():
    assert domain.order_amount([{"quantity": "3", "unit_price": "0.1"}]) == Decimal("0.30")


# --- payments -------------------------------------------------------------------------
def test_partial_payments_allowed_and_overpayment_refused():
    assert domain.payment_problem(Decimal("40"), Decimal("100"), Decimal("0")) is None
    assert domain.payment_problem(Decimal("60"), Decimal("100"), Decimal("40")) is None
    assert "exceeds" in domain.payment_problem(Decimal("60.01"), Decimal("100"), Decimal("40"))
    assert "greater than 0" in domain.payment_problem(Decimal("0"), Decimal("100"), Decimal("0"))
    assert "exceeds" in domain.payment_problem(Decimal("1"), Decimal("100"), Decimal("100"))


@pytest.mark.parametrize("cancelled,shipped,paid,status", [
    (False, False, "0", "placed"), (False, False, "10", "partially_paid"),
    (False, False, "100", "paid"), (False, True, "0", "shipped"),
    (False, True, "50", "shipped"), (False, True, "100", "completed"),
    (True, False, "0", "cancelled")])
def test_order_status_derived_from_shipments_and_payments(cancelled, shipped, paid, status):
    assert domain.order_status(cancelled, shipped, Decimal("100"), Decimal(paid)) == status


def test_order_change_and_cancel_rules():
    assert domain.change_problem(False, False, Decimal("50"), Decimal("0"), True) is None
    assert domain.change_problem(True, False, None, Decimal("0"), False)[0] == "_order"
    assert domain.change_problem(False, True, Decimal("50"), Decimal("0"), True)[0] == "lines"
    assert domain.change_problem(False, True, None, Decimal("0"), False) is None
    assert "below" in domain.change_problem(False, False, Decimal("10"), Decimal("20"), True)[1]
    assert domain.cancel_problem(False, False, Decimal("0")) is None
    assert "already" in domain.cancel_problem(True, False, Decimal("0"))
    assert "shipped" in domain.cancel_problem(False, True, Decimal("0"))
    assert "payments" in domain.cancel_problem(False, False, Decimal("1"))


# --- follow-ups ------------------------------------------------------------------------
def test_overdue_and_on_time():
    now = dt.datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert domain.is_overdue("open", now - dt.timedelta(seconds=1), now)
    assert not domain.is_overdue("open", now + dt.timedelta(seconds=1), now)
    assert not domain.is_overdue("done", now - dt.timedelta(days=1), now)
    assert domain.on_time(now, now) and not domain.on_time(now, now + dt.timedelta(seconds=1))


# --- assignment rules --------------------------------------------------------------------
RULES = [
    {"kind": "named", "customer_name": "华为", "owner_id": "key"},
    {"kind": "region", "region": "上海", "owner_id": "sh"},
    {"kind": "industry", "industry_code": "C3", "owner_id": "mfg"},
    {"kind": "named", "source": "trade_show", "owner_id": "expo"},
    {"kind": "round_robin", "team": ["a", "b", "c"]},
]


def lead(**kw):
    base = {"region": None, "industry_code": None, "customer_name": "某公司", "source": "website",
            "customer_id": None, "campaign_id": None}
    base.update(kw)
    return base


@pytest.mark.parametrize("facts,owner,kind", [
    (lead(customer_name="华为", region="上海"), "key", "named"),
    (lead(region="上海", industry_code="C35"), "sh", "region"),
    (lead(region="北京", industry_code="c3511"), "mfg", "industry"),
    (lead(region="北京", industry_code="I65", source="trade_show"), "expo", "named"),
])
def test_first_matching_rule_wins(facts, owner, kind):
    got_owner, got_kind, cursor = domain.choose_owner(RULES, facts, cursor=1)
    assert (got_owner, got_kind, cursor) == (owner, kind, 1)


def test_round_robin_fallback_cycles_through_team():
    cursor, owners = 0, []
    for _ in range(5):
        owner, kind, cursor = domain.choose_owner(RULES, lead(region="成都"), cursor)
        assert kind == "round_robin"
        owners.append(owner)
    assert owners == ["a", "b", "c", "a", "b"]


def test_no_rule_matches_without_fallback():
    assert domain.choose_owner(RULES[:3], lead(region="成都")) == (None, None, 0)
    assert domain.choose_owner([], lead()) == (None, None, 0)


def test_named_rule_without_criteria_is_a_default_owner():
    owner, kind, _ = domain.choose_owner([{"kind": "named", "owner_id": "boss"}], lead())
    assert (owner, kind) == ("boss", "named")


def test_rule_validation():
    assert domain.validate_rules(RULES) == {}
    bad = [{"kind": "round_robin", "team": ["a"]}, {"kind": "region", "owner_id": "x"},
           {"kind": "industry", "owner_id": None, "industry_code": "C"},
           {"kind": "round_robin", "team": []}]
    problems = domain.validate_rules(bad)
    assert set(problems) == {"0", "1", "2", "3"}
    assert "last" in problems["0"] and "region" in problems["1"]


# --- periods and forecast ------------------------------------------------------------------
@pytest.mark.parametrize("period,first,last", [
    ("2026-11", dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
    ("2026-12", dt.date(2026, 12, 1), dt.date(2026, 12, 31)),
    ("2026-02", dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
    ("2028-02", dt.date(2028, 2, 1), dt.date(2028, 2, 29)),
    ("2026-Q4", dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
    ("2026-Q1", dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
    ("2026", dt.date(2026, 1, 1), dt.date(2026, 12, 31))])
def test_periods(period, first, last):
    f, lst, start, end = domain.parse_period(period)
    assert (f, lst) == (first, last)
    # cut in Asia/Shanghai: local midnight is 16:00 UTC the day before
    assert start == dt.datetime.combine(first - dt.timedelta(days=1), dt.time(16), UTC)
    assert end == dt.datetime.combine(last, dt.time(16), UTC)


@pytest.mark.parametrize("bad", ["2026-13", "2026-Q5", "26", "2026-1", "", None, "2026-Q4x"])
def test_bad_periods(bad):
    with pytest.raises(ValueError):
        domain.parse_period(bad)


def test_local_date_in_shanghai():
    late_utc = dt.datetime(2026, 9, 30, 17, tzinfo=UTC)  # 01:00 on 1 Oct in Shanghai
    assert domain.local_date(late_utc) == dt.date(2026, 10, 1)


def test_forecast_weights_open_opportunities_in_period_by_owner_and_stage():
    opps = [
        {"stage": "qualify", "amount": Decimal("1000"), "owner_id": "u1",
         "expected_close_date": dt.date(2026, 10, 1)},
        {"stage": "propose", "amount": Decimal("1000"), "owner_id": "u1",
         "expected_close_date": dt.date(2026, 12, 31)},
        {"stage": "negotiate", "amount": Decimal("333.33"), "owner_id": "u2",
         "expected_close_date": dt.date(2026, 11, 15)},
        {"stage": "won", "amount": Decimal("9999"), "owner_id": "u2",
         "expected_close_date": dt.date(2026, 11, 15)},
        {"stage": "qualify", "amount": Decimal("5000"), "owner_id": "u2",
         "expected_close_date": dt.date(2027, 1, 1)},
        {"stage": "qualify", "amount": Decimal("5000"), "owner_id": "u2",
         "expected_close_date": None},
    ]
    first, last, _, _ = domain.parse_period("2026-Q4")
    f = domain.forecast(opps, "2026-Q4", first, last)
    assert f["count"] == 3
    assert f["amount"] == Decimal("2333.33")
    assert f["weighted_amount"] == Decimal("300.00") + Decimal("600.00") + Decimal("300.00")
    owners = {b["owner_id"]: b for b in f["by_owner"]}
    assert owners["u1"]["weighted_amount"] == Decimal("900.00")
    assert owners["u2"]["weighted_amount"] == Decimal("300.00")  # 333.33 × 0.9 = 299.997
    stages = {b["stage"]: b for b in f["by_stage"]}
    assert set(stages) == {"qualify", "propose", "negotiate"}
    assert stages["negotiate"]["probability"] == 0.9 and stages["negotiate"]["count"] == 1


@pytest.mark.parametrize("raw,text", [("100.000", "100"), ("1.500", "1.5"), ("0.125", "0.125"),
                                      ("2", "2")])
def test_quantities_print_without_exponent(raw, text):
    assert domain.plain_quantity(Decimal(raw)) == text
