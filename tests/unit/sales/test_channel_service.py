"""sales.channel_analysis on a migrated database (worker_factory): the period is cut in
CRM_TIMEZONE (Asia/Shanghai, UTC+8), the cohort is the leads created in it, staff see
their own leads."""
import datetime as dt
import uuid

import pytest

from services.common.errors import ValidationError

ADMIN = {"id": "adm", "roles": ["admin"], "department": "sales"}


def iso(y, mo, d, h=0, mi=0):
    return dt.datetime(y, mo, d, h, mi, tzinfo=dt.UTC).isoformat()


def won_deal(w, source, created, won, amount, owner, campaign_id=None):
    lead = w.create_lead({"source": source, "customer_id": 8, "owner_id": owner,
                          "campaign_id": campaign_id}, at=created)
    opp = w.convert_lead(lead["id"], {"amount": amount, "expected_close_date": "2031-12-31"},
                         at=created)["opportunity"]
    w.move_stage(opp["id"], "propose", at=won)
    w.move_stage(opp["id"], "negotiate", at=won)
    w.win_opportunity(opp["id"], at=won)
    return opp


def test_period_cut_in_shanghai_and_staff_scope(svc):
    w = svc(ADMIN)
    a, b = f"ca-{uuid.uuid4().hex[:6]}", f"cb-{uuid.uuid4().hex[:6]}"
    # 2031-10-31 16:30 UTC is 2031-11-01 00:30 in Shanghai: November's cohort
    won_deal(w, "trade_show", iso(2031, 10, 31, 16, 30), iso(2031, 11, 3, 16, 30),
             "1000.10", a)
    won_deal(w, "trade_show", iso(2031, 11, 5), iso(2031, 11, 6, 12), "99.99", b)
    # 2031-11-30 16:00 UTC is December 1st in Shanghai: not November's
    won_deal(w, "trade_show", iso(2031, 11, 30, 16), iso(2031, 12, 2), "5.00", a)
    w.create_lead({"source": "referral", "customer_id": 8, "owner_id": a},
                  at=iso(2031, 11, 10))
    w.create_lead({"source": "campaign", "customer_id": 8, "owner_id": b,
                   "campaign_id": 77}, at=iso(2031, 11, 10))

    out = w.channel_analysis("2031-11")
    assert (out["from_date"], out["to_date"], out["timezone"]) == (
        "2031-11-01", "2031-11-30", "Asia/Shanghai")
    ts = next(r for r in out["by_source"] if r["source"] == "trade_show")
    assert (ts["leads"], ts["converted"], ts["won"]) == (2, 2, 2)
    assert ts["won_amount"] == "1100.09"
    assert ts["conversion_rate"] == "1.0000" and ts["win_rate"] == "1.0000"
    # 3 days and 1.5 days → 2.25
    assert ts["avg_cycle_days"] == "2.25"
    ref = next(r for r in out["by_source"] if r["source"] == "referral")
    assert (ref["leads"], ref["converted"], ref["conversion_rate"], ref["win_rate"]) == (
        1, 0, "0.0000", None)
    assert out["by_campaign"] == [dict(campaign_id=77, leads=1, converted=0, won=0, lost=0,
                                       won_amount="0.00", conversion_rate="0.0000",
                                       win_rate=None, avg_cycle_days=None,
                                       campaign_name="活动77")]
    assert out["total"]["leads"] == 4

    mine = svc({"id": a, "roles": ["staff"], "department": "sales"}).channel_analysis("2031-11")
    ts = next(r for r in mine["by_source"] if r["source"] == "trade_show")
    assert (ts["leads"], ts["won_amount"], ts["avg_cycle_days"]) == (1, "1000.10", "3.00")
    assert mine["total"]["leads"] == 2
    assert w.channel_analysis("2031-12")["total"]["won_amount"] == "5.00"
    assert w.channel_analysis("2031")["total"]["leads"] == 5


@pytest.mark.parametrize("bad", ["2031-13", "Q4", "", None, "2031-Q5"])
def test_bad_period_names_the_field(svc, bad):
    with pytest.raises(ValidationError) as err:
        svc(ADMIN).channel_analysis(bad)
    assert "period" in err.value.fields
