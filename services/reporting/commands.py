"""reporting's writes: apply one event (log → fold → facts → aggregate deltas),
and rebuild every read model from the event log.

Concurrency: on PostgreSQL each apply takes a transaction-scoped advisory lock
per entity (and per customer whose churn signals it touches), so two events of
the same entity never fold concurrently; aggregate rows are updated with
``value = value + delta`` upserts in key order. ``rebuild`` takes the exclusive
form of a lock every apply holds shared. On SQLite the kit's green lock already
serialises units of work.
"""
import datetime as dt
import zlib
from collections import Counter

from sqlalchemy import delete, func, select, text, tuple_, update

from services.common.models import utcnow
from services.reporting import domain
from services.reporting.models import (
    READ_MODELS,
    CampaignFact,
    ClosedSpan,
    CustomerFact,
    EventLog,
    FollowUpFact,
    KpiMonth,
    LeadFact,
    OpportunityFact,
    OrderFact,
    ParticipantFact,
    Staff,
    SurveyFact,
    TicketFact,
)

LOCK_NS_REBUILD = 4241
LOCK_NS_ENTITY = 4242
CUSTOMER_LINKED = ("order", "opportunity", "ticket")


def _pg(session):
    return session.bind.dialect.name == "postgresql"


def _lock(session, kind, entity_id):
    if _pg(session):
        key = zlib.crc32(f"{kind}:{entity_id}".encode()) - 2 ** 31
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, :k)"),
                        {"ns": LOCK_NS_ENTITY, "k": key})


def _insert(session):
    if _pg(session):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


# --- apply --------------------------------------------------------------------------------
def entity_events(session, kind, entity_id):
    rows = session.scalars(select(EventLog.envelope).where(
        EventLog.entity_kind == kind, EventLog.entity_id == entity_id)).all()
    return [domain.norm(env) for env in rows]


def apply_envelope(session, envelope, tz, now=None):
    """Apply one validated envelope. Returns its lag (seconds), or None if it was
    already in the event log."""
    now = now or utcnow()
    if _pg(session):
        session.execute(text("SELECT pg_advisory_xact_lock_shared(:ns, 0)"),
                        {"ns": LOCK_NS_REBUILD})
    kind, entity_id = domain.entity_of(envelope)
    _lock(session, kind, entity_id)
    if session.scalar(select(EventLog.id).where(
            EventLog.event_id == str(envelope["event_id"]))) is not None:
        return None
    old_events = entity_events(session, kind, entity_id)
    event = domain.norm(envelope)
    old = domain.fold(kind, old_events)
    new = domain.fold(kind, old_events + [event])
    customers = _customers_of(kind, old) | _customers_of(kind, new)
    if kind in CUSTOMER_LINKED:
        for cid in sorted(customers):
            _lock(session, "customer", cid)
    lag = max((now - event["at"]).total_seconds(), 0.0)
    session.add(EventLog(event_id=str(envelope["event_id"]), source=envelope["source"],
                         type=envelope["type"], occurred_at=event["at"],
                         actor_id=envelope.get("actor_id"), envelope=_jsonable(envelope),
                         entity_kind=kind, entity_id=entity_id, applied_at=now,
                         lag_seconds=lag))
    write_facts(session, kind, new)
    add_to_aggregates(session, domain.diff(domain.contributions(kind, old, tz),
                                           domain.contributions(kind, new, tz)))
    for employee, dept in domain.staff_seen(envelope):
        mark_staff(session, employee, dept)
    if kind in CUSTOMER_LINKED:
        session.flush()
        for cid in sorted(customers):
            refresh_signals(session, cid)
    return lag


def _jsonable(envelope):
    out = dict(envelope)
    out["event_id"] = str(out["event_id"])
    if isinstance(out.get("occurred_at"), dt.datetime):
        out["occurred_at"] = out["occurred_at"].isoformat()
    return out


def _customers_of(kind, facts):
    if not facts:
        return set()
    ids = {facts.get("customer_id")}
    ids |= {s.get("customer_id") for s in facts.get("surveys", ())}
    return {i for i in ids if i}


def add_to_aggregates(session, deltas):
    if not deltas:
        return
    insert = _insert(session)
    stmt = insert(KpiMonth)
    stmt = stmt.on_conflict_do_update(index_elements=["owner", "month", "metric"],
                                      set_={"value": KpiMonth.value + stmt.excluded.value})
    session.execute(stmt, [{"owner": o, "month": m, "metric": k, "value": v}
                           for (o, m, k), v in sorted(deltas.items())])


def mark_staff(session, employee_id, dept):
    bit = domain.DEPT_BITS[dept]
    row = session.get(Staff, employee_id)
    if row is not None and row.seen & bit:
        return
    insert = _insert(session)
    session.execute(insert(Staff).values(employee_id=employee_id, seen=0)
                    .on_conflict_do_nothing(index_elements=["employee_id"]))
    session.execute(update(Staff).where(Staff.employee_id == employee_id)
                    .values(seen=Staff.seen.op("|")(bit)))
    session.expire_all()
    row = session.get(Staff, employee_id)
    row.department = domain.department_of(row.seen, row.manual_department)


def set_staff_department(session, employee_id, department):
    row = session.get(Staff, employee_id)
    if row is None:
        row = Staff(employee_id=employee_id, seen=0)
        session.add(row)
    row.manual_department = department
    row.department = domain.department_of(row.seen or 0, department)
    return row


# --- facts --------------------------------------------------------------------------------
def _put(session, model, values):
    session.merge(model(**{c.key: values.get(c.key) for c in model.__table__.columns
                           if c.key in values}))


def write_facts(session, kind, f):
    if f is None or kind in ("payment", "care_visit"):
        return
    if kind == "customer":
        row = session.get(CustomerFact, f["customer_id"])
        if row is None:
            row = CustomerFact(customer_id=f["customer_id"])
            session.add(row)
        for key in ("name", "owner_id", "type", "tier", "industry_code", "region", "filled",
                    "created_at", "lost_at"):
            setattr(row, key, f[key])
        session.execute(delete(ClosedSpan).where(ClosedSpan.customer_id == f["customer_id"]))
        session.add_all([ClosedSpan(customer_id=f["customer_id"], **s) for s in f["spans"]])
    elif kind == "ticket":
        _put(session, TicketFact, f)
        for s in f["surveys"]:
            _put(session, SurveyFact, dict(s, ticket_id=f["ticket_id"]))
    else:
        model = {"lead": LeadFact, "opportunity": OpportunityFact, "order": OrderFact,
                 "follow_up": FollowUpFact, "campaign": CampaignFact,
                 "participant": ParticipantFact}[kind]
        _put(session, model, f)


def refresh_signals(session, customer_id):
    """Recompute a customer's churn signals from the order/ticket/survey/opportunity facts."""
    last_order = session.scalar(select(func.max(OrderFact.placed_at)).where(
        OrderFact.customer_id == customer_id, OrderFact.cancelled_at.is_(None)))
    complaint2 = session.scalar(
        select(TicketFact.opened_at).where(TicketFact.customer_id == customer_id,
                                           TicketFact.kind == "complaint",
                                           TicketFact.opened_at.is_not(None))
        .order_by(TicketFact.opened_at.desc()).limit(1).offset(1))
    csat = session.scalar(select(SurveyFact.score).where(SurveyFact.customer_id == customer_id)
                          .order_by(SurveyFact.answered_at.desc(), SurveyFact.survey_id.desc())
                          .limit(1))
    lost_opp = session.scalar(select(func.max(OpportunityFact.decided_at)).where(
        OpportunityFact.customer_id == customer_id, OpportunityFact.status == "lost"))
    row = session.get(CustomerFact, customer_id)
    if row is None:
        row = CustomerFact(customer_id=customer_id)
        session.add(row)
    row.last_order_at, row.complaint2_at = last_order, complaint2
    row.latest_csat, row.lost_opp_at = csat, lost_opp


# --- rebuild ------------------------------------------------------------------------------
def wipe(session):
    for model in READ_MODELS:
        session.execute(delete(model))
    session.execute(update(Staff).values(seen=0, department=Staff.manual_department))


def rebuild(session, tz, batch=5000):
    """Wipe the read models and replay the event log, entity by entity.
    Returns {"events": n, "entities": n}."""
    if _pg(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, 0)"), {"ns": LOCK_NS_REBUILD})
    wipe(session)
    session.flush()
    totals, customers, staff = Counter(), set(), set()
    counts = {"events": 0, "entities": 0}
    after = None
    while True:
        stmt = select(EventLog.entity_kind, EventLog.entity_id, EventLog.envelope).order_by(
            EventLog.entity_kind, EventLog.entity_id, EventLog.id).limit(batch)
        if after is not None:
            stmt = stmt.where(tuple_(EventLog.entity_kind, EventLog.entity_id) > after)
        rows = session.execute(stmt).all()
        if not rows:
            break
        groups = {}
        for kind, eid, env in rows:
            groups.setdefault((kind, eid), []).append(env)
        keys = list(groups)
        if len(rows) == batch and len(keys) > 1:
            keys = keys[:-1]  # the last entity may continue on the next page
        elif len(rows) == batch:  # one huge entity: take all of it
            kind, eid = keys[0]
            groups[keys[0]] = session.scalars(select(EventLog.envelope).where(
                EventLog.entity_kind == kind, EventLog.entity_id == eid)).all()
        for key in keys:
            kind, eid = key
            envs = groups[key]
            facts = domain.fold(kind, [domain.norm(e) for e in envs])
            write_facts(session, kind, facts)
            totals.update(domain.contributions(kind, facts, tz))
            if kind in CUSTOMER_LINKED:
                customers |= _customers_of(kind, facts)
            for env in envs:
                staff.update(domain.staff_seen(env))
            counts["events"] += len(envs)
            counts["entities"] += 1
        session.flush()
        after = keys[-1]
    add_to_aggregates(session, {k: v for k, v in totals.items() if v})
    for employee, dept in sorted(staff):
        mark_staff(session, employee, dept)
    session.flush()
    for cid in sorted(customers):
        refresh_signals(session, cid)
    return counts
