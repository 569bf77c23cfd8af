"""sales.forecast and reporting's weighted_pipeline agree to the cent (issue 16 item 7e).

The rule (docs/KIT.md, Money): Σ amount × stage probability, exact, rounded
once, half-up to cents. The reference below does it in integers: an amount in
cents times a probability in tenths is in 1/1000 yuan, exact; one half-up
rounding to cents at the end.
"""
import datetime as dt
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from services.sales import domain as sales
from tests.unit.reporting.harness import Harness, at, opp

TENTHS = {"qualify": 3, "propose": 6, "negotiate": 9}  # KPIS.md: 30 %, 60 %, 90 %
_ids = itertools.count(10_000)


def reference(opps):
    """"900.05" from [(amount_cents, stage)]: Σ cents × tenths (1/1000 yuan), half-up once."""
    milli = sum(cents * TENTHS[stage] for cents, stage in opps)
    cents = (milli + 5) // 10
    return f"{cents // 100}.{cents % 100:02d}"


def text(cents):
    return f"{cents // 100}.{cents % 100:02d}"


def sales_forecast(opps):
    first, last, _, _ = sales.parse_period("2026-11")
    rows = [{"stage": stage, "amount": text(cents), "owner_id": "u1",
             "expected_close_date": dt.date(2026, 11, 15)} for cents, stage in opps]
    return str(sales.forecast(rows, "2026-11", first, last)["weighted_amount"])


def reporting_pipeline(opps):
    h = Harness()
    h.apply(*(opp("opportunity_created", "2026-10-01T00:00", next(_ids), amount=text(cents),
                  stage=stage, expected_close_date="2026-11-15") for cents, stage in opps))
    return h.kpis("2026-11", now=at("2026-10-02T00:00"))["weighted_pipeline"]


def test_issue_sample_three_times_1000_05_at_30_percent():
    opps = [(100005, "qualify")] * 3  # 3 × 300.015 = 900.045 → 900.05
    assert reference(opps) == "900.05"
    assert sales_forecast(opps) == "900.05"
    assert reporting_pipeline(opps) == "900.05"


def test_owner_and_stage_buckets_round_once_too():
    first, last, _, _ = sales.parse_period("2026-11")
    rows = [{"stage": "qualify", "amount": "1000.05", "owner_id": "u1",
             "expected_close_date": dt.date(2026, 11, 1)}] * 3
    f = sales.forecast(rows, "2026-11", first, last)
    assert [str(b["weighted_amount"]) for b in f["by_owner"]] == ["900.05"]
    assert [str(b["weighted_amount"]) for b in f["by_stage"]] == ["900.05"]


_opps = st.lists(st.tuples(st.integers(0, 99_999_999_999_999),
                           st.sampled_from(sorted(TENTHS))), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(_opps)
def test_both_services_follow_the_reference(opps):
    expected = reference(opps)
    assert sales_forecast(opps) == expected
    assert reporting_pipeline(opps) == expected
