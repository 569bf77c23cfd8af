"""reporting's reads. ``get_kpis`` reads only the per-month aggregates plus a few
indexed, bounded look-ups (follow-ups / tickets not yet due, customers lost in
the period, campaigns launched in the period): it never scans the event log.
"""
import datetime as dt
from decimal import Decimal

from sqlalchemy import and_, bindparam, case, func, or_, select

from services.common import paging
from services.common.errors import validation_error
from services.common.models import utcnow
from services.reporting import domain
from services.reporting.models import (
    CampaignFact,
    CustomerFact,
    EventLog,
    FollowUpFact,
    KpiMonth,
    LeadFact,
    OpportunityFact,
    OrderFact,
    ParticipantFact,
    ScorecardTarget,
    Staff,
    TicketFact,
)

SNAPSHOT_METRICS = ("c_act_n", "c_act_filled", "c_closed_n")


class Scope:
    """None → company; {"owner_id": X}; {"department": D}."""

    def __init__(self, scope=None):
        scope = scope or {}
        self.owner_id = scope.get("owner_id")
        self.department = scope.get("department")

    def to_dict(self):
        if self.owner_id:
            return {"owner_id": self.owner_id}
        if self.department:
            return {"department": self.department}
        return None

    def _dept_members(self):
        return select(Staff.employee_id).where(Staff.department == self.department)

    def agg(self):
        """Filter on kpi_month.owner: one owner key (a department has its own rows)."""
        if self.owner_id:
            return KpiMonth.owner == self.owner_id
        if self.department:
            return KpiMonth.owner == domain.dept_owner(self.department)
        return KpiMonth.owner == domain.COMPANY

    def on(self, column):
        """Filter on a fact table's owner column (None = no filter)."""
        if self.owner_id:
            return column == self.owner_id
        if self.department:
            return column.in_(self._dept_members())
        return None

    # prebuilt statements (built once, bound per call): the shape of a filter
    @property
    def kind(self):
        return "owner" if self.owner_id else "department" if self.department else "company"

    @property
    def key(self):
        """kpi_month owner of the scope's rows."""
        if self.owner_id:
            return self.owner_id
        if self.department:
            return domain.dept_owner(self.department)
        return domain.COMPANY

    def params(self):
        return {"owner": self.key, "who": self.owner_id or self.department}


def _on(kind, column):
    """Fact-table owner filter of a scope kind, bound to :who."""
    if kind == "owner":
        return column == bindparam("who")
    if kind == "department":
        return column.in_(select(Staff.employee_id).where(Staff.department == bindparam("who")))
    return None


_PREBUILT = {}


def _prebuilt(name, build):
    stmt = _PREBUILT.get(name)
    if stmt is None:
        stmt = _PREBUILT[name] = build()
    return stmt


def _where(stmt, *conds):
    return stmt.where(*[c for c in conds if c is not None])


def period_sums(session, scope, first, last):
    stmt = _prebuilt("sums", lambda: select(KpiMonth.metric, func.sum(KpiMonth.value)).where(
        KpiMonth.owner == bindparam("owner"), KpiMonth.month >= bindparam("first"),
        KpiMonth.month <= bindparam("last")).group_by(KpiMonth.metric))
    rows = session.execute(stmt, {"owner": scope.key, "first": first, "last": last}).all()
    return {m: int(v or 0) for m, v in rows}


def snapshots(session, scope, first, last):
    """Prefix sums of the state deltas: at period end (months ≤ last) and at period
    start (months < first)."""
    stmt = _prebuilt("snapshots", lambda: select(
        KpiMonth.metric, KpiMonth.month, func.sum(KpiMonth.value))
        .where(KpiMonth.owner == bindparam("owner"), KpiMonth.month <= bindparam("last"),
               KpiMonth.metric.in_(SNAPSHOT_METRICS))
        .group_by(KpiMonth.metric, KpiMonth.month))
    rows = session.execute(stmt, {"owner": scope.key, "last": last}).all()
    end, start = {}, {}
    for metric, month, value in rows:
        end[metric] = end.get(metric, 0) + int(value or 0)
        if month < first:
            start[metric] = start.get(metric, 0) + int(value or 0)
    return end, start


def churned(sums, first):
    """Customers closed at the period start (under the span's owner) marked lost in
    the period: aggregate rows 'ch_<start>_<end>' of the period's months (already in
    the period's sums)."""
    return sum(v for m, v in sums.items()
               if m.startswith("ch_") and domain.churn_in_cohort(m, first)) // domain.SCALE


def _pending_statements(kind):
    fu = _where(select(func.count()).select_from(FollowUpFact),
                FollowUpFact.due_at > bindparam("after"), FollowUpFact.due_at < bindparam("end"),
                FollowUpFact.completed_at.is_(None), _on(kind, FollowUpFact.owner_id))
    complaints = _where(
        select(func.count()).select_from(TicketFact),
        TicketFact.resolution_due_at > bindparam("now"), TicketFact.opened_at >= bindparam("start"),
        TicketFact.opened_at < bindparam("end"), TicketFact.kind == "complaint",
        TicketFact.resolved_at.is_(None), _on(kind, TicketFact.assignee_id))
    responses = _where(
        select(func.count()).select_from(TicketFact),
        TicketFact.first_response_due_at > bindparam("now"),
        TicketFact.opened_at >= bindparam("start"), TicketFact.opened_at < bindparam("end"),
        TicketFact.responded_at.is_(None), _on(kind, TicketFact.assignee_id))
    return fu, complaints, responses


def pending(session, scope, start, end, now):
    """Items of the period's cohorts not settled and not yet due (left out of the
    timeliness denominators)."""
    stmts = _prebuilt(("pending", scope.kind), lambda: _pending_statements(scope.kind))
    params = dict(scope.params(), after=max(now, start), start=start, end=end, now=now)
    return tuple(session.scalar(q, params) or 0 for q in stmts)


def get_kpis(session, period, scope, tz, now=None, with_campaigns=True):
    now = now or utcnow()
    first = domain.month_key(period.year, period.first_month)
    last = domain.month_key(period.year, period.last_month)
    start, end = domain.period_bounds(period, tz)
    sums = period_sums(session, scope, first, last)
    snap_end, snap_start = snapshots(session, scope, first, last)
    closed_start = snap_start.get("c_closed_n", 0) // domain.SCALE
    fu, complaints, responses = pending(session, scope, start, end, now)
    return domain.kpis_from(
        sums, active_n=snap_end.get("c_act_n", 0) // domain.SCALE,
        active_filled=snap_end.get("c_act_filled", 0) // domain.SCALE,
        closed_at_start=closed_start,
        churned=churned(sums, first) if closed_start else 0,
        pending_follow_ups=fu, pending_complaints=complaints, pending_responses=responses,
        campaigns=campaigns(session, scope, start, end) if with_campaigns else [])


def funnel(session, scope, period):
    first = domain.month_key(period.year, period.first_month)
    last = domain.month_key(period.year, period.last_month)
    sums = period_sums(session, scope, first, last)
    return {k: sums.get(m, 0) // domain.SCALE
            for k, m in (("leads", "l_new"), ("converted", "l_conv"),
                         ("opportunities", "o_new"), ("won", "o_won"))}


# --- campaigns --------------------------------------------------------------------------
def _campaign_dict(c):
    return {"campaign_id": c.campaign_id, "theme": c.theme, "owner_id": c.owner_id,
            "format": c.format, "cost": c.cost, "launched_at": c.launched_at}


def _grouped(session, stmt):
    return {k: int(v or 0) for k, v in session.execute(stmt).all()}


def campaign_stats(session, camps):
    """Rows of KPIS.md's campaigns table for many campaigns in a few grouped queries."""
    if not camps:
        return []
    ids = [c["campaign_id"] for c in camps]
    P = ParticipantFact
    participants = _grouped(session, select(P.campaign_id, func.count()).where(
        P.campaign_id.in_(ids), P.registered.is_(True)).group_by(P.campaign_id))
    generated = _grouped(session, select(P.campaign_id, func.sum(P.leads_generated)).where(
        P.campaign_id.in_(ids)).group_by(P.campaign_id))
    leads = session.execute(select(LeadFact.lead_id, LeadFact.opportunity_id,
                                   LeadFact.campaign_id, LeadFact.converted_at).where(
        LeadFact.campaign_id.in_(ids))).all()
    converted, by_lead, by_opp = {}, {}, {}
    for lead_id, opp_id, cid, converted_at in leads:
        by_lead[lead_id] = cid
        if opp_id:
            by_opp[opp_id] = cid
        if converted_at:
            converted[cid] = converted.get(cid, 0) + 1
    won = _won_amounts(session, camps, by_lead, by_opp)
    return [domain.campaign_row(c, participants.get(c["campaign_id"], 0),
                                generated.get(c["campaign_id"], 0),
                                converted.get(c["campaign_id"], 0),
                                won.get(c["campaign_id"], Decimal(0))) for c in camps]


def _won_amounts(session, camps, by_lead, by_opp):
    """Orders of the customers of the campaigns' opportunities, placed on or after
    that opportunity was created, not cancelled."""
    ids = {c["campaign_id"] for c in camps}
    floor = {c["campaign_id"]: c.get("launched_at")
             or dt.datetime(1970, 1, 1, tzinfo=dt.UTC) for c in camps}
    Opp = OpportunityFact
    conds = [Opp.campaign_id.in_(list(ids))]
    if by_lead:
        conds.append(Opp.lead_id.in_(list(by_lead)))
    if by_opp:
        conds.append(Opp.opportunity_id.in_(list(by_opp)))
    opps = session.execute(select(Opp.opportunity_id, Opp.customer_id, Opp.created_at,
                                  Opp.decided_at, Opp.lead_id, Opp.campaign_id).where(
        or_(*conds), Opp.customer_id.is_not(None))).all()
    since = {}  # (campaign, customer) -> first opportunity time
    for opp_id, customer_id, created_at, decided_at, lead_id, cid in opps:
        for campaign in {cid if cid in ids else None, by_lead.get(lead_id), by_opp.get(opp_id)}:
            if campaign is None:
                continue
            at = created_at or decided_at or floor[campaign]
            key = (campaign, customer_id)
            since[key] = min(since.get(key, at), at)
    won = {}
    customers = sorted({cust for _, cust in since})
    if customers:
        rows = session.execute(select(OrderFact.customer_id, OrderFact.placed_at,
                                      OrderFact.amount).where(
            OrderFact.customer_id.in_(customers), OrderFact.cancelled_at.is_(None),
            OrderFact.placed_at.is_not(None))).all()
        for (campaign, customer_id), first in since.items():
            total = sum((Decimal(amount or 0) for cust, at, amount in rows
                         if cust == customer_id and at >= first), Decimal(0))
            won[campaign] = won.get(campaign, Decimal(0)) + total
    return won


def campaigns(session, scope, start, end):
    C = CampaignFact
    stmt = _prebuilt(("campaigns", scope.kind), lambda: _where(
        select(C.campaign_id, C.theme, C.owner_id, C.format, C.cost, C.launched_at)
        .order_by(C.launched_at, C.campaign_id),
        C.launched_at >= bindparam("start"), C.launched_at < bindparam("end"),
        _on(scope.kind, C.owner_id)))
    rows = session.execute(stmt, dict(scope.params(), start=start, end=end)).all()
    return campaign_stats(session, [_campaign_dict(c) for c in rows])


def campaign_report(session, campaign_id):
    c = session.get(CampaignFact, str(campaign_id))
    if c is None:
        return None
    out = campaign_stats(session, [_campaign_dict(c)])[0]
    feedback = session.execute(select(func.count(ParticipantFact.feedback_score),
                                      func.avg(ParticipantFact.feedback_score)).where(
        ParticipantFact.campaign_id == c.campaign_id)).one()
    out.update(completed_at=c.completed_at.isoformat() if c.completed_at else None,
               feedback_count=feedback[0] or 0,
               feedback_average=round(float(feedback[1]), 4) if feedback[1] else None,
               conversion_rate=domain.rate(out["leads_converted"], out["leads_generated"]))
    return out


# --- trend, freshness ---------------------------------------------------------------------
def trend(session, last_month, scope, tz, months=12, now=None):
    out = []
    for i in range(months - 1, -1, -1):
        ym = domain.add_months(last_month, -i)
        period = domain.parse_period(domain.month_label(ym))
        k = get_kpis(session, period, scope, tz, now, with_campaigns=False)
        k.pop("campaigns")
        out.append(dict(k, period=period.label))
    return out


def freshness(session, now=None, sample=500):
    now = now or utcnow()
    rows = session.execute(select(EventLog.lag_seconds, EventLog.applied_at)
                           .order_by(EventLog.id.desc()).limit(sample)).all()
    lags = sorted(r[0] for r in rows)
    total = session.scalar(select(func.max(EventLog.id))) or 0

    def pct(p):
        return round(lags[min(len(lags) - 1, int(p * len(lags)))], 3) if lags else None
    last_applied = rows[0][1] if rows else None
    return {"events_applied": total, "sample": len(lags), "lag_p50_seconds": pct(0.5),
            "lag_p95_seconds": pct(0.95), "lag_max_seconds": round(lags[-1], 3) if lags else None,
            "last_applied_at": last_applied.isoformat() if last_applied else None,
            "seconds_since_last_apply": round((now - last_applied).total_seconds(), 3)
            if last_applied else None}


# --- staff and scorecards -------------------------------------------------------------------
def staff(session, department=None):
    stmt = select(Staff).order_by(Staff.employee_id)
    if department:
        stmt = stmt.where(Staff.department == department)
    return [{"employee_id": s.employee_id, "department": s.department,
             "manual_department": s.manual_department} for s in session.scalars(stmt)]


def staff_department(session, employee_id):
    row = session.get(Staff, employee_id)
    return row.department if row else None


def targets(session, role, employee_id=None):
    """Effective {kpi: (target, weight)}: defaults < '*' rows < the employee's rows."""
    out = {k: (Decimal(t), Decimal(w)) for k, (t, w) in domain.DEFAULT_TARGETS[role].items()}
    who = [domain.COMPANY] + ([employee_id] if employee_id else [])
    rows = session.scalars(select(ScorecardTarget).where(
        ScorecardTarget.role == role, ScorecardTarget.employee_id.in_(who))).all()
    for r in sorted(rows, key=lambda r: r.employee_id != domain.COMPANY):
        if r.kpi in out:
            out[r.kpi] = (r.target, r.weight)
    return out


def put_targets(session, employee_id, items, actor_id):
    for item in items:
        session.merge(ScorecardTarget(employee_id=employee_id or domain.COMPANY,
                                      role=item["role"], kpi=item["kpi"],
                                      target=item["target"], weight=item["weight"],
                                      updated_by=actor_id, updated_at=utcnow()))


def scorecard(session, employee_id, role, period, tz, now=None):
    scope = Scope({"owner_id": employee_id})
    kpis = get_kpis(session, period, scope, tz, now, with_campaigns=False)
    actuals = {k: kpis[k] for k in domain.SCORECARD_KPIS[role]}
    months = period.last_month - period.first_month + 1
    value, items = domain.score(actuals, targets(session, role, employee_id), months)
    return {"employee_id": employee_id, "role": role, "period": period.label, "score": value,
            "items": items}


# --- churn watchlist ------------------------------------------------------------------------
WATCH_FILTERS = {"list": "churn_watchlist"}  # what a watchlist cursor's fingerprint covers


def watchlist(session, now, page=1, page_size=20):
    """``watchlist_page`` without a cursor → (items, total) (the dashboard's top ten)."""
    items, _nxt, total, _est = watchlist_page(session, now, page, page_size)
    return items, total


def watchlist_page(session, now, page=1, page_size=20, cursor=None):
    """Closed customers with churn signals, highest risk first (risk desc, customer_id)
    → (items, next_cursor, total, total_is_estimate).

    Keyset paging: ``cursor`` (a ``next_cursor``) carries the last row's (risk,
    customer_id), the time the risk was computed at (so every page scores with the same
    clock and the order stays put) and the total of the first page, which later pages
    return (``total_is_estimate: true``: a snapshot) instead of counting again. The risk
    is computed, so no index gives the order: a page still scores every closed customer
    with a signal, but never sorts or skips the rows before the cursor (OFFSET did)."""
    body = paging.decode_cursor(cursor, WATCH_FILTERS, key_len=2)
    if body is not None:
        try:
            after_risk, after_id = body["k"]
            now = dt.datetime.fromisoformat(body["at"])
            carried = body["t"]
            if (not isinstance(after_risk, int) or isinstance(after_risk, bool)
                    or not isinstance(after_id, str) or now.tzinfo is None
                    or not isinstance(carried, int) or isinstance(carried, bool)):
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise validation_error({"cursor": paging.BAD_CURSOR}) from None
    c = CustomerFact
    no_order = or_(c.last_order_at.is_(None), c.last_order_at < now - dt.timedelta(days=180))
    complaints = c.complaint2_at >= now - dt.timedelta(days=90)
    low_csat = c.latest_csat <= 2
    lost_opp = c.lost_opp_at >= now - dt.timedelta(days=90)
    w = domain.CHURN_SIGNALS
    risk = (case((no_order, w["no_order_180d"]), else_=0)
            + case((complaints, w["complaints_90d"]), else_=0)
            + case((low_csat, w["low_csat"]), else_=0)
            + case((lost_opp, w["lost_opportunity_90d"]), else_=0)).label("risk")
    cond = and_(c.type == "closed", or_(no_order, complaints, low_csat, lost_opp))
    q = select(c, risk).where(cond)
    if body is not None:
        q = q.where(or_(risk < after_risk, and_(risk == after_risk, c.customer_id > after_id)))
        total, estimate = carried, True
    else:
        total = session.scalar(select(func.count()).select_from(c).where(cond)) or 0
        estimate = False
        q = q.offset((page - 1) * page_size)
    rows = session.execute(q.order_by(risk.desc(), c.customer_id).limit(page_size + 1)).all()
    more = len(rows) > page_size
    rows = rows[:page_size]
    next_cursor = None
    if more:
        last, last_risk = rows[-1]
        next_cursor = paging.encode_cursor(WATCH_FILTERS, [int(last_risk), last.customer_id],
                                           at=now.isoformat(), t=total)
    items = []
    for row, _risk in rows:
        signals, score = domain.churn_signals(now, row.last_order_at, row.complaint2_at,
                                              row.latest_csat, row.lost_opp_at)
        items.append({"customer_id": row.customer_id, "name": row.name,
                      "owner_id": row.owner_id, "tier": row.tier, "signals": signals,
                      "risk_score": score,
                      "last_order_at": row.last_order_at.isoformat()
                      if row.last_order_at else None,
                      "latest_csat": row.latest_csat})
    return items, next_cursor, total, estimate

