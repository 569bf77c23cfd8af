"""Sales channel KPIs by lead source and by campaign, from reporting's own facts (folds of
sales' events: ``rpt_leads`` ← lead_created / lead_converted, ``rpt_opportunities`` ←
opportunity_won / opportunity_lost). Same definitions as ``sales.channel_analysis``
(docs/sales.md, "Channel analysis"), so the two agree to the cent:

cohort = leads whose ``lead_created`` occurred in the period (cut in CRM_TIMEZONE);
converted = of those, with ``lead_converted``; won / lost = their opportunity's decision;
won_amount = Σ won opportunities' amount; conversion_rate = converted / leads;
win_rate = won / (won + lost); avg_cycle_days = Σ whole seconds (won − lead created) /
won / 86 400. Rates half-up to 4 places, days to 2 places, exact Decimals.
"""
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from services.reporting import domain
from services.reporting.models import LeadFact, OpportunityFact

LEAD_SOURCES = ("trade_show", "website", "referral", "campaign", "phone", "other")
_FIELDS = ("leads", "converted", "won", "lost")


def _quantized(num, den, exp):
    if not den:
        return None
    return (Decimal(num) / Decimal(den)).quantize(Decimal(exp), rounding=ROUND_HALF_UP)


class _Tally:
    __slots__ = ("leads", "converted", "won", "lost", "cents", "seconds")

    def __init__(self):
        self.leads = self.converted = self.won = self.lost = self.cents = self.seconds = 0

    def count(self, converted_at, status, amount, created_at, decided_at):
        self.leads += 1
        if converted_at is None:
            return
        self.converted += 1
        if status == "lost":
            self.lost += 1
        elif status == "won":
            self.won += 1
            self.cents += int((Decimal(amount or 0) * 100).to_integral_value(ROUND_HALF_UP))
            self.seconds += max(0, int((decided_at - created_at).total_seconds()))

    def figures(self, **key):
        return dict(key, **{f: getattr(self, f) for f in _FIELDS},
                    won_amount=(Decimal(self.cents) / 100).quantize(Decimal("0.01")),
                    conversion_rate=_quantized(self.converted, self.leads, "0.0001"),
                    win_rate=_quantized(self.won, self.won + self.lost, "0.0001"),
                    avg_cycle_days=_quantized(self.seconds, self.won * 86400, "0.01"))


def by_source(session, period, tz):
    """{by_source: [...] (all six sources), by_campaign: [...], total: {...}} of the
    leads created in ``period``; money and rates as strings."""
    start, end = domain.period_bounds(period, tz)
    stmt = (select(LeadFact.source, LeadFact.campaign_id, LeadFact.created_at,
                   LeadFact.converted_at, OpportunityFact.status, OpportunityFact.amount,
                   OpportunityFact.decided_at)
            .outerjoin(OpportunityFact,
                       OpportunityFact.opportunity_id == LeadFact.opportunity_id)
            .where(LeadFact.created_at >= start, LeadFact.created_at < end))
    sources = {s: _Tally() for s in LEAD_SOURCES}
    campaigns, total = {}, _Tally()
    for src, cid, created, converted, status, amount, decided in session.execute(stmt):
        facts = (converted, status, amount, created, decided)
        sources.setdefault(src or "other", _Tally()).count(*facts)
        total.count(*facts)
        if cid is not None:
            campaigns.setdefault(cid, _Tally()).count(*facts)
    return _strings({
        "by_source": [t.figures(source=s) for s, t in sources.items()],
        "by_campaign": [campaigns[c].figures(campaign_id=c)
                        for c in sorted(campaigns, key=lambda c: (len(c), c))],
        "total": total.figures()})


def _strings(out):
    for row in out["by_source"] + out["by_campaign"] + [out["total"]]:
        for key in ("won_amount", "conversion_rate", "win_rate", "avg_cycle_days"):
            row[key] = None if row[key] is None else str(row[key])
        if "campaign_id" in row and str(row["campaign_id"]).isdigit():
            row["campaign_id"] = int(row["campaign_id"])
    return out
