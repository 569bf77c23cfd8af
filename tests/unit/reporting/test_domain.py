import datetime as dt

import pytest

from services.reporting import domain
from tests.unit.reporting.harness import at

TZ = "Asia/Shanghai"


@pytest.mark.parametrize("text,label,first,last", [
    ("2026-11", "2026-11", 11, 11), ("2026-Q4", "2026-Q4", 10, 12), ("2026", "2026", 1, 12),
    ("2026-Q1", "2026-Q1", 1, 3), (" 2026-01 ", "2026-01", 1, 1)])
def test_parse_period(text, label, first, last):
    p = domain.parse_period(text)
    assert (p.label, p.first_month, p.last_month) == (label, first, last)


@pytest.mark.parametrize("bad", ["2026-13", "2026-Q5", "26-11", "2026-1", "", "2026/11", None,
                                 202611, "1900", "2026-Q0", "2026-00"])
def test_bad_periods(bad):
    with pytest.raises(domain.PeriodError):
        domain.parse_period(bad)


def test_period_bounds_cut_in_shanghai():
    start, end = domain.period_bounds(domain.parse_period("2026-11"), TZ)
    assert start == at("2026-10-31T16:00") and end == at("2026-11-30T16:00")
    start, end = domain.period_bounds(domain.parse_period("2026-Q4"), TZ)
    assert start == at("2026-09-30T16:00") and end == at("2026-12-31T16:00")
    start, end = domain.period_bounds(domain.parse_period("2026"), TZ)
    assert start == at("2025-12-31T16:00") and end == at("2026-12-31T16:00")


def test_timezone_edge_is_december_in_shanghai():
    assert domain.month_of(at("2026-11-30T17:00"), TZ) == 202612
    assert domain.month_of(at("2026-11-30T15:59:59"), TZ) == 202611
    assert domain.month_of(at("2026-11-30T16:00"), TZ) == 202612  # local midnight
    assert domain.month_of(at("2026-11-30T17:00"), "UTC") == 202611


def test_add_months_and_labels():
    assert domain.add_months(202611, 2) == 202701
    assert domain.add_months(202601, -1) == 202512
    assert domain.add_months(202612, -11) == 202601
    assert domain.month_label(202603) == "2026-03"


def test_rate_and_money_rounding():
    assert domain.rate(1, 3) == 0.3333
    assert domain.rate(2, 3) == 0.6667
    assert domain.rate(0, 0) is None and domain.rate(5, 0) is None
    assert domain.rate(0, 4) == 0.0
    assert domain.money(domain.scaled("1234.5")) == "1234.50"
    assert domain.money(domain.scaled("0.005")) == "0.01"
    assert domain.money(0) == "0.00"


def test_kpis_from_nulls_when_nothing():
    k = domain.kpis_from({}, active_n=0, active_filled=0, closed_at_start=0, churned=0,
                         pending_follow_ups=0, pending_complaints=0, pending_responses=0,
                         campaigns=[])
    for key in ("customer_info_completeness", "lead_conversion_rate", "opportunity_win_rate",
                "follow_up_completion_rate", "complaint_timeliness_rate",
                "first_response_timeliness_rate", "csat_average", "csat_satisfied_rate",
                "retention_rate", "churn_rate"):
        assert k[key] is None, key
    assert k["sales_amount"] == "0.00" and k["customers_new"] == 0
    assert k["tickets_new_by_kind"] == {"inquiry": 0, "complaint": 0, "suggestion": 0}


def test_score_formula():
    targets = {"a": (1.0, 2), "b": (10, 1), "c": (0.5, 1)}
    value, items = domain.score({"a": 0.5, "b": 30, "c": None}, targets)
    # 100 × (2·0.5 + 1·min(3, 1.5)) / (2 + 1); c is null → left out
    assert value == round(100 * (2 * 0.5 + 1.5) / 3, 2)
    assert [i["achievement"] for i in items] == [0.5, 1.5, None]
    assert domain.score({"a": None}, {"a": (1, 1)})[0] is None


def test_score_money_target_scales_with_months():
    value, _ = domain.score({"sales_amount": "300000.00"}, {"sales_amount": (100000, 1)},
                            months=3)
    assert value == 100.0


def test_churn_signals():
    now = at("2026-11-20T00:00")
    fired, risk = domain.churn_signals(now, None, now - dt.timedelta(days=10), 2,
                                       now - dt.timedelta(days=30))
    assert fired == ["no_order_180d", "complaints_90d", "low_csat", "lost_opportunity_90d"]
    assert risk == 100
    fired, risk = domain.churn_signals(now, now - dt.timedelta(days=10),
                                       now - dt.timedelta(days=91), 3,
                                       now - dt.timedelta(days=91))
    assert fired == [] and risk == 0


def test_fold_is_order_independent():
    evs = [domain.norm(e) for e in _ticket_story()]
    a = domain.fold("ticket", evs)
    b = domain.fold("ticket", list(reversed(evs)))
    assert a == b and a["resolved_at"] is None  # reopened last


def _ticket_story():
    from tests.unit.reporting.harness import ticket
    return [ticket("ticket_opened", "2026-11-01T00:00", 1),
            ticket("ticket_resolved", "2026-11-01T02:00", 1, opened="2026-11-01T00:00",
                   root_cause="other", within_sla=True),
            ticket("ticket_reopened", "2026-11-02T00:00", 1, opened="2026-11-01T00:00")]
