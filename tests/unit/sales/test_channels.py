"""Channel analysis figures (services/sales/channels.py) against hand-computed values and,
with hypothesis, against a reference written here from the definitions (fractions)."""
import datetime as dt
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from services.sales import channels

T0 = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)


def lead(source, converted=False, stage=None, amount=None, days=None, campaign_id=None,
         seconds=0):
    won_at = T0 + dt.timedelta(days=days or 0, seconds=seconds) if stage == "won" else None
    return {"source": source, "campaign_id": campaign_id, "created_at": T0,
            "converted": converted, "stage": stage, "amount": amount, "won_at": won_at}


def row(result, source):
    return next(r for r in result["by_source"] if r["source"] == source)


def test_hand_computed_figures():
    leads = [lead("website", True, "won", Decimal("1000.10"), 10),
             lead("website", True, "won", Decimal("2000.05"), 5),
             lead("website", True, "lost"),
             lead("website", True, "qualify"),
             lead("website"), lead("website")]
    r = row(channels.analyse(leads), "website")
    assert (r["leads"], r["converted"], r["won"], r["lost"]) == (6, 4, 2, 1)
    assert r["won_amount"] == Decimal("3000.15")
    assert r["conversion_rate"] == Decimal("0.6667")   # 4 / 6
    assert r["win_rate"] == Decimal("0.6667")          # 2 / (2 + 1)
    assert r["avg_cycle_days"] == Decimal("7.50")      # (10 + 5) / 2


def test_every_source_listed_with_none_for_empty_rates():
    result = channels.analyse([])
    assert [r["source"] for r in result["by_source"]] == [
        "trade_show", "website", "referral", "campaign", "phone", "other"]
    assert all(r["leads"] == 0 and r["conversion_rate"] is None and r["win_rate"] is None
               and r["avg_cycle_days"] is None and r["won_amount"] == Decimal("0.00")
               for r in result["by_source"])
    assert result["by_campaign"] == []


def test_campaign_rows_and_half_up_days():
    # 1 day + 432 s = 1.005 days → 1.01 (half-up); one day and a half → 1.50
    leads = [lead("campaign", True, "won", Decimal("10"), 1, campaign_id="7", seconds=432),
             lead("campaign", True, "won", Decimal("10"), 1, campaign_id="12", seconds=43200),
             lead("campaign", campaign_id="7")]
    result = channels.analyse(leads)
    by = {r["campaign_id"]: r for r in result["by_campaign"]}
    assert [r["campaign_id"] for r in result["by_campaign"]] == ["7", "12"]
    assert by["7"]["avg_cycle_days"] == Decimal("1.01")
    assert by["7"]["conversion_rate"] == Decimal("0.5000")
    assert by["12"]["avg_cycle_days"] == Decimal("1.50")
    assert result["total"]["leads"] == 3


def _half_up(frac, places):
    scaled = frac * 10 ** places
    whole = scaled.numerator // scaled.denominator
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return Decimal(whole).scaleb(-places)


leads_st = st.lists(st.builds(
    lambda src, outcome, cents, secs: lead(
        src, outcome != "none", None if outcome == "none" else outcome,
        Decimal(cents) / 100, 0, seconds=secs),
    st.sampled_from(channels.SOURCES),
    st.sampled_from(["none", "qualify", "won", "lost"]),
    st.integers(0, 10**10), st.integers(0, 400 * 86400)), max_size=40)


@given(leads_st)
def test_matches_reference_from_the_definitions(leads):
    result = channels.analyse(leads)
    for src in channels.SOURCES:
        mine = [x for x in leads if x["source"] == src]
        conv = [x for x in mine if x["converted"]]
        won = [x for x in conv if x["stage"] == "won"]
        lost = [x for x in conv if x["stage"] == "lost"]
        r = row(result, src)
        assert (r["leads"], r["converted"], r["won"], r["lost"]) == (
            len(mine), len(conv), len(won), len(lost))
        assert r["won_amount"] == sum((x["amount"] for x in won), Decimal(0))
        assert r["conversion_rate"] == (
            _half_up(Fraction(len(conv), len(mine)), 4) if mine else None)
        assert r["win_rate"] == (
            _half_up(Fraction(len(won), len(won) + len(lost)), 4) if won or lost else None)
        secs = sum(int((x["won_at"] - x["created_at"]).total_seconds()) for x in won)
        assert r["avg_cycle_days"] == (
            _half_up(Fraction(secs, 86400 * len(won)), 2) if won else None)
