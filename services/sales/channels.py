"""Sales channel analysis (policy 000 §四(四) 销售渠道分析) as a plain function: no nameko,
no I/O. reporting computes the same figures from events (``services/reporting/channels.py``);
the two agree to the cent because both follow the definitions below.

The cohort is **the leads created in the period** (``created_at`` in [start, end), the
period cut in CRM_TIMEZONE); what happened to them is counted up to now, like KPIS.md's
``lead_conversion_rate``. Per lead source (all six, zeros included) and per campaign:

- ``leads``: leads of the cohort;
- ``converted``: of those, the leads converted to an opportunity;
- ``won`` / ``lost``: of those opportunities, the ones won / lost (open ones are neither);
- ``won_amount``: Σ amount of the won opportunities (CNY, 2 places);
- ``conversion_rate``: converted / leads (None when there are no leads);
- ``win_rate``: won / (won + lost) (None when none is decided yet);
- ``avg_cycle_days``: over the won opportunities, the mean of (time won − time the lead
  was created) in days: Σ whole seconds of each / won / 86 400 (None when none is won).

Rates are fractions rounded half-up to 4 places, days to 2 places; all three are exact
Decimals computed from integers, so every reader gets the same digits.
"""
from decimal import ROUND_HALF_UP, Decimal

SOURCES = ("trade_show", "website", "referral", "campaign", "phone", "other")
RATE = Decimal("0.0001")
DAYS = Decimal("0.01")
CENT = Decimal("0.01")
DAY_SECONDS = 86400


def ratio(num, den, places=RATE):
    """num / den rounded half-up to ``places``; None when den is 0."""
    if not den:
        return None
    return (Decimal(num) / Decimal(den)).quantize(places, rounding=ROUND_HALF_UP)


def cycle_seconds(created_at, won_at):
    """Whole seconds from a lead's creation to its opportunity's win (never negative)."""
    return max(0, int((won_at - created_at).total_seconds()))


def _empty(**key):
    return dict(key, leads=0, converted=0, won=0, lost=0, won_amount=Decimal("0"),
                _cycle=0)


def _add(row, lead):
    row["leads"] += 1
    if not lead["converted"]:
        return
    row["converted"] += 1
    if lead["stage"] == "won":
        row["won"] += 1
        row["won_amount"] += Decimal(str(lead["amount"] or 0)).quantize(CENT)
        row["_cycle"] += cycle_seconds(lead["created_at"], lead["won_at"])
    elif lead["stage"] == "lost":
        row["lost"] += 1


def _finish(row):
    cycle = row.pop("_cycle")
    row["won_amount"] = row["won_amount"].quantize(CENT, rounding=ROUND_HALF_UP)
    row["conversion_rate"] = ratio(row["converted"], row["leads"])
    row["win_rate"] = ratio(row["won"], row["won"] + row["lost"])
    row["avg_cycle_days"] = ratio(cycle, row["won"] * DAY_SECONDS, DAYS)
    return row


def analyse(leads):
    """Leads of the cohort → {"by_source": [...], "by_campaign": [...], "total": {...}}.

    Each lead is a dict: ``source``, ``campaign_id`` (or None), ``created_at``,
    ``converted`` (bool), and for a converted one its opportunity's ``stage``,
    ``amount`` and ``won_at`` (the time it was won, if it was)."""
    by_source = {s: _empty(source=s) for s in SOURCES}
    by_campaign, total = {}, _empty()
    for lead in leads:
        _add(by_source.setdefault(lead["source"], _empty(source=lead["source"])), lead)
        _add(total, lead)
        if lead.get("campaign_id") is not None:
            cid = str(lead["campaign_id"])
            _add(by_campaign.setdefault(cid, _empty(campaign_id=cid)), lead)
    return {"by_source": [_finish(r) for r in by_source.values()],
            "by_campaign": [_finish(by_campaign[k])
                            for k in sorted(by_campaign, key=lambda k: (len(k), k))],
            "total": _finish(total)}
