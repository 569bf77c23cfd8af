"""reporting's writes: apply events (inbox → log → fold → facts → aggregate deltas),
and rebuild every read model from the event log.

Applying is set-based: ``apply_batch`` takes any number of envelopes and applies
them in the caller's transaction with a fixed number of Core statements (one
inbox look-up and one insert, one event-log look-up, one read of the earlier
events of the batch's entities per kind, one insert into the event log, one
upsert per fact table, one ``kpi_month`` upsert, one staff read/upsert, a few
grouped churn-signal queries). Each entity is folded from the *set* of its
events (earlier ones from the log + the new ones), so the result never depends
on delivery order; ``apply_envelope`` is the batch of one.

Concurrency: on PostgreSQL each apply takes transaction-scoped advisory locks
on its entities (sorted), then on the customers whose churn signals it
refreshes (sorted), then on the staff rows it changes (sorted), so an entity
never folds twice at once; aggregate rows are updated with ``value = value +
delta`` upserts in key order. ``rebuild`` takes the exclusive form of a lock
every apply holds shared. On SQLite the kit's green lock already serialises
units of work. (Two reporting processes on PostgreSQL could still deadlock on
the customer locks of two batches; PostgreSQL aborts one of them, whose events
are then re-applied one by one — see ``service.GroupCommit``.)
"""
import zlib
from collections import Counter

from sqlalchemy import bindparam, delete, func, select, text, tuple_, update

from services.common import inbox
from services.common.models import utcnow
from services.reporting import domain
from services.reporting.models import (
    READ_MODELS,
    Base,
    CampaignFact,
    ClosedSpan,
    CustomerFact,
    CustomerMerge,
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
DUPLICATE = "duplicate"  # apply_batch result of an event the inbox had already seen
FACT_MODELS = {"lead": LeadFact, "opportunity": OpportunityFact, "order": OrderFact,
               "follow_up": FollowUpFact, "campaign": CampaignFact,
               "participant": ParticipantFact, "ticket": TicketFact}
CUSTOMER_FOLD_COLUMNS = ("name", "owner_id", "type", "tier", "industry_code", "region",
                         "filled", "created_at", "lost_at")
SIGNAL_COLUMNS = ("last_order_at", "complaint2_at", "latest_csat", "lost_opp_at")
IN_CHUNK = 500


def _pg(bind):
    return bind.dialect.name == "postgresql"


def _lock_key(kind, entity_id):
    return zlib.crc32(f"{kind}:{entity_id}".encode()) - 2 ** 31


def _lock_all(conn, keys, shared=()):
    """Advisory locks (PostgreSQL) on (kind, id) pairs, in sorted key order: exclusive,
    or shared for the pairs in ``shared`` that are not also in ``keys``."""
    if not _pg(conn):
        return
    mode = {_lock_key(kind, eid): "shared" for kind, eid in shared}
    mode.update({_lock_key(kind, eid): "exclusive" for kind, eid in keys})
    for k in sorted(mode):
        fn = "pg_advisory_xact_lock" if mode[k] == "exclusive" else "pg_advisory_xact_lock_shared"
        conn.execute(text(f"SELECT {fn}(:ns, :k)"), {"ns": LOCK_NS_ENTITY, "k": k})


def _insert(bind):
    if _pg(bind):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _chunks(items, n=IN_CHUNK):
    items = list(items)
    for i in range(0, len(items), n):
        yield items[i:i + n]


_STATEMENTS = {}


def _stmt(bind, name, build):
    """A statement built once per dialect (building and cache-keying SQLAlchemy
    constructs costs more than executing them on SQLite)."""
    key = (bind.dialect.name, name)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = build(_insert(bind))
    return stmt


def _ids():
    return bindparam("ids", expanding=True)


def _upsert(conn, model, rows, update_cols):
    """INSERT … ON CONFLICT (primary key) DO UPDATE SET update_cols, many rows."""
    if not rows:
        return
    update_cols = tuple(update_cols)

    def build(insert):
        ins = insert(model)
        keys = [c.key for c in model.__table__.primary_key.columns]
        if update_cols:
            return ins.on_conflict_do_update(index_elements=keys,
                                             set_={c: ins.excluded[c] for c in update_cols})
        return ins.on_conflict_do_nothing(index_elements=keys)
    conn.execute(_stmt(conn, ("upsert", model.__tablename__, update_cols), build), rows)


# --- apply --------------------------------------------------------------------------------
def apply_envelope(session, envelope, tz, now=None):
    """Apply one validated envelope. Returns its lag (seconds), or None if it was
    already in the event log."""
    return apply_batch(session, [envelope], tz, now=now)[0]


def apply_batch(session, envelopes, tz, handler=None, now=None, origins=None):
    """Apply validated envelopes in the session's transaction (the caller commits).

    With ``handler`` the inbox is checked and written too. Returns one result per
    envelope: its lag in seconds (applied), ``DUPLICATE`` (the inbox had it: a
    redelivery) or None (already in the event log).

    The lag runs from ``origins[event_id]`` (when the relay published the event, or
    when reporting received it) to now; without an origin from occurred_at. An event
    back-dated by its source (``make demo``'s history) would otherwise look like a
    pipeline stalled for months."""
    now = now or utcnow()
    origins = origins or {}
    conn = session.connection()
    if _pg(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock_shared(:ns, 0)"),
                     {"ns": LOCK_NS_REBUILD})
    ids = [str(e["event_id"]) for e in envelopes]
    results = [None] * len(envelopes)
    fresh = list(range(len(envelopes)))
    if handler is not None:
        fresh = _inbox(conn, handler, envelopes, ids, results)
    if not fresh:
        return results
    entities = {}  # (kind, id) -> indexes of the batch, in delivery order
    for i in fresh:
        entities.setdefault(domain.entity_of(envelopes[i]), []).append(i)
    _lock_all(conn, entities)
    # an event belongs to exactly one entity: it is in the log iff it is among its
    # entity's earlier events (a forged id under another entity fails the log's unique
    # key: the batch is re-applied one by one and that event takes the retry path)
    earlier, logged = _earlier_events(conn, entities)
    log_rows, deltas, facts, customers, staff = [], Counter(), {}, set(), set()
    for key, idxs in entities.items():
        new = []
        for i in idxs:
            if ids[i] not in logged:  # a second copy in the same batch is skipped too
                logged.add(ids[i])
                new.append(i)
        if not new:
            continue
        kind, entity_id = key
        olds = [domain.norm(e) for e in earlier.get(key, ())]
        events = [domain.norm(envelopes[i]) for i in new]
        old = domain.fold(kind, olds)
        facts[key] = cur = domain.fold(kind, olds + events)
        deltas.update(domain.diff(domain.contributions(kind, old, tz),
                                  domain.contributions(kind, cur, tz)))
        if kind in CUSTOMER_LINKED:
            customers |= _customers_of(kind, old) | _customers_of(kind, cur)
        for i, event in zip(new, events, strict=True):
            env = envelopes[i]
            lag = max((now - (origins.get(ids[i]) or event["at"])).total_seconds(), 0.0)
            results[i] = lag
            log_rows.append({"event_id": ids[i], "source": env["source"], "type": env["type"],
                             "occurred_at": event["at"], "actor_id": env.get("actor_id"),
                             "envelope": _jsonable(env), "entity_kind": kind,
                             "entity_id": entity_id, "applied_at": now, "lag_seconds": lag})
            staff.update(domain.staff_seen(env))
    if not log_rows:
        return results
    _lock_all(conn, [("customer", c) for c in customers if ("customer", c) not in entities])
    conn.execute(_stmt(conn, "log", lambda insert: insert(EventLog)), log_rows)
    customers |= write_facts_many(conn, facts.items())
    # staff first: an employee whose department changes takes their rows along, then
    # every per-owner delta also goes to the owner's department row
    departments, moves = mark_staff_many(conn, staff, owners={o for o, _m, _k in deltas})
    deltas.update(moves)
    deltas.update(domain.department_deltas(deltas, departments))
    add_to_aggregates(conn, {k: v for k, v in deltas.items() if v})
    if customers:
        refresh_signals_many(conn, sorted(customers))
    return results


def _inbox(conn, handler, envelopes, ids, results):
    """The kit's inbox claim for the batch: indexes not seen before; a repeat, also
    within the batch, is marked DUPLICATE."""
    fresh = inbox.claim(conn, Base.Inbox, handler, envelopes)
    for i in set(range(len(ids))) - set(fresh):
        results[i] = DUPLICATE
    return fresh


def _earlier_events(conn, entities):
    """({(kind, id): [envelope, ...]}, {event_id}) already in the event log, for the
    batch's entities."""
    out, logged, by_kind = {}, set(), {}
    for kind, entity_id in entities:
        by_kind.setdefault(kind, []).append(entity_id)
    stmt = _stmt(conn, "earlier", lambda _: select(
        EventLog.entity_id, EventLog.event_id, EventLog.envelope).where(
        EventLog.entity_kind == bindparam("kind"), EventLog.entity_id.in_(_ids())))
    for kind, eids in sorted(by_kind.items()):
        for chunk in _chunks(eids):
            for entity_id, event_id, env in conn.execute(stmt, {"kind": kind, "ids": chunk}):
                out.setdefault((kind, entity_id), []).append(env)
                logged.add(event_id)
    return out, logged


def _jsonable(envelope):
    out = dict(envelope)
    out["event_id"] = str(out["event_id"])
    occurred = out.get("occurred_at")
    if hasattr(occurred, "isoformat"):
        out["occurred_at"] = occurred.isoformat()
    return out


def _customers_of(kind, facts):
    if not facts:
        return set()
    ids = {facts.get("customer_id")}
    ids |= {s.get("customer_id") for s in facts.get("surveys", ())}
    return {i for i in ids if i}


def add_to_aggregates(bind, deltas):
    """``value = value + delta`` upserts of kpi_month rows, in key order."""
    if not deltas:
        return
    def build(insert):
        ins = insert(KpiMonth)
        return ins.on_conflict_do_update(index_elements=["owner", "month", "metric"],
                                         set_={"value": KpiMonth.value + ins.excluded.value})
    bind.execute(_stmt(bind, "kpi", build), [{"owner": o, "month": m, "metric": k, "value": v}
                        for (o, m, k), v in sorted(deltas.items())])


def mark_staff_many(conn, seen, owners=(), move=True):
    """Record that employees were seen working in departments: [(employee, dept)].

    Returns ({person: department or None} for the employees and the (person) owners
    given, kpi_month deltas moving the rows of employees whose department changed
    from the old department's rows to the new one's)."""
    bits = {}
    for employee, dept in seen:
        bits[employee] = bits.get(employee, 0) | domain.DEPT_BITS[dept]
    people = sorted(set(bits) | {o for o in owners if domain.is_person(o)})
    if not people:
        return {}, Counter()
    _lock_all(conn, [("staff", e) for e in bits], shared=[("staff", e) for e in people])
    existing = {}
    stmt = _stmt(conn, "staff", lambda _: select(
        Staff.employee_id, Staff.seen, Staff.manual_department, Staff.department).where(
        Staff.employee_id.in_(_ids())))
    for chunk in _chunks(people):
        for emp, seen_bits, manual, dept in conn.execute(stmt, {"ids": chunk}):
            existing[emp] = (seen_bits or 0, manual, dept)
    rows, departments, changed = [], {}, {}
    for emp in people:
        seen_bits, manual, dept = existing.get(emp, (0, None, None))
        departments[emp] = dept
        b = bits.get(emp)
        if b is None or (emp in existing and seen_bits & b == b):
            continue
        seen_bits |= b
        departments[emp] = new = domain.department_of(seen_bits, manual)
        rows.append({"employee_id": emp, "seen": seen_bits, "manual_department": manual,
                     "department": new})
        if new != dept:
            changed[emp] = (dept, new)
    _upsert(conn, Staff, rows, ("seen", "department"))
    return departments, (department_moves(conn, changed) if move else Counter())


def department_moves(conn, changed):
    """kpi_month deltas moving employees' rows between department rows:
    ``changed`` = {employee: (old department, new department)}."""
    out = Counter()
    stmt = _stmt(conn, "rows-of", lambda _: select(
        KpiMonth.month, KpiMonth.metric, KpiMonth.value).where(
        KpiMonth.owner == bindparam("owner")))
    for emp, (old, new) in sorted(changed.items()):
        for month, metric, value in conn.execute(stmt, {"owner": emp}):
            if old:
                out[(domain.dept_owner(old), month, metric)] -= value
            if new:
                out[(domain.dept_owner(new), month, metric)] += value
    return out


def mark_staff(session, employee_id, dept):
    conn = session.connection()
    departments, moves = mark_staff_many(conn, [(employee_id, dept)])
    add_to_aggregates(conn, {k: v for k, v in moves.items() if v})


def set_staff_department(session, employee_id, department):
    conn = session.connection()
    _lock_all(conn, [("staff", employee_id)])
    row = session.get(Staff, employee_id)
    if row is None:
        row = Staff(employee_id=employee_id, seen=0)
        session.add(row)
    old = row.department
    row.manual_department = department
    row.department = domain.department_of(row.seen or 0, department)
    if row.department != old:
        add_to_aggregates(conn, {k: v for k, v in department_moves(
            conn, {employee_id: (old, row.department)}).items() if v})
    return row


# --- facts --------------------------------------------------------------------------------
def _fact_row(model, values):
    return {c.key: values.get(c.key) for c in model.__table__.columns if c.key in values}


def write_facts_many(conn, items):
    """Upsert the fact rows of folded entities: [((kind, id), facts)]. Returns the ids
    of kept customers that facts were merged into here (their churn signals change)."""
    rows = {}  # model -> {pk: row}
    customers, spans, merges = {}, [], {}
    for (kind, _eid), f in items:
        if f is None or kind in ("payment", "care_visit"):
            continue
        if kind == "customer":
            cid = f["customer_id"]
            customers[cid] = dict({c: f[c] for c in CUSTOMER_FOLD_COLUMNS}, customer_id=cid)
            spans += [dict(s, customer_id=cid) for s in f["spans"]]
            if f.get("merged_into"):
                merges[cid] = f["merged_into"]
            continue
        model = FACT_MODELS[kind]
        row = _fact_row(model, f)
        rows.setdefault(model, {})[_pk(model, row)] = row
        if kind == "ticket":
            for s in f["surveys"]:
                srow = _fact_row(SurveyFact, dict(s, ticket_id=f["ticket_id"]))
                rows.setdefault(SurveyFact, {})[srow["survey_id"]] = srow
    if customers:
        _upsert(conn, CustomerFact, list(customers.values()), CUSTOMER_FOLD_COLUMNS)
        stmt = _stmt(conn, "spans-", lambda _: delete(ClosedSpan).where(
            ClosedSpan.customer_id.in_(_ids())))
        for chunk in _chunks(customers):
            conn.execute(stmt, {"ids": chunk})
        if spans:
            conn.execute(_stmt(conn, "spans+", lambda insert: insert(ClosedSpan)), spans)
    if merges:
        record_merges(conn, merges)
    kept = _map_merged(conn, rows)
    for model, by_pk in rows.items():
        pk = {c.key for c in model.__table__.primary_key.columns}
        values = list(by_pk.values())
        _upsert(conn, model, values, [c for c in values[0] if c not in pk])
    return set(merges.values()) | kept


MERGE_LINKED = (LeadFact, OpportunityFact, OrderFact, TicketFact, SurveyFact, ParticipantFact)


def record_merges(conn, merges):
    """Store merged → kept customer ids and point every fact that names a merged
    customer (and older merges into it) at the kept one. Repeating it changes nothing."""
    _upsert(conn, CustomerMerge, [{"merge_id": m, "keep_id": k}
                                  for m, k in sorted(merges.items())], ("keep_id",))
    for merge_id, keep_id in sorted(merges.items()):
        conn.execute(update(CustomerMerge).where(CustomerMerge.keep_id == merge_id)
                     .values(keep_id=keep_id))
        for model in MERGE_LINKED:
            conn.execute(update(model).where(model.customer_id == merge_id)
                         .values(customer_id=keep_id))


def _map_merged(conn, rows):
    """Facts about to be written with a merged customer's id get the kept id. Returns
    the kept ids used (their churn signals change)."""
    ids = {r["customer_id"] for model, by_pk in rows.items() if model in MERGE_LINKED
           for r in by_pk.values() if r.get("customer_id")}
    if not ids:
        return set()
    stmt = _stmt(conn, "merges", lambda _: select(CustomerMerge.merge_id, CustomerMerge.keep_id)
                 .where(CustomerMerge.merge_id.in_(_ids())))
    kept = {}
    for chunk in _chunks(sorted(ids)):
        kept.update(conn.execute(stmt, {"ids": chunk}).all())
    if not kept:
        return set()
    for model, by_pk in rows.items():
        if model in MERGE_LINKED:
            for r in by_pk.values():
                r["customer_id"] = kept.get(r.get("customer_id"), r.get("customer_id"))
    return set(kept.values())


def _pk(model, row):
    return tuple(row[c.key] for c in model.__table__.primary_key.columns)


def write_facts(session, kind, f):
    write_facts_many(session.connection(), [((kind, None), f)])


def _signal_statements(_insert):
    Ord, T = OrderFact.__table__.c, TicketFact.__table__.c
    S, P = SurveyFact.__table__.c, OpportunityFact.__table__.c
    last_order = (select(Ord.customer_id, func.max(Ord.placed_at))
                  .where(Ord.customer_id.in_(_ids()), Ord.cancelled_at.is_(None))
                  .group_by(Ord.customer_id))
    rn = func.row_number().over(partition_by=T.customer_id,
                                order_by=T.opened_at.desc()).label("rn")
    sub = select(T.customer_id, T.opened_at, rn).where(
        T.customer_id.in_(_ids()), T.kind == "complaint", T.opened_at.is_not(None)).subquery()
    complaint2 = select(sub.c.customer_id, sub.c.opened_at).where(sub.c.rn == 2)
    rn = func.row_number().over(partition_by=S.customer_id,
                                order_by=(S.answered_at.desc(), S.survey_id.desc())).label("rn")
    sub = select(S.customer_id, S.score, rn).where(S.customer_id.in_(_ids())).subquery()
    csat = select(sub.c.customer_id, sub.c.score).where(sub.c.rn == 1)
    lost_opp = (select(P.customer_id, func.max(P.decided_at))
                .where(P.customer_id.in_(_ids()), P.status == "lost").group_by(P.customer_id))
    return last_order, complaint2, csat, lost_opp


def refresh_signals_many(conn, customer_ids, on_chunk=None):
    """Recompute customers' churn signals from the order/ticket/survey/opportunity facts
    (four grouped queries per chunk of customers), creating their rows if missing."""
    stmts = _stmt(conn, "signals", _signal_statements)
    for chunk in _chunks(customer_ids):
        if on_chunk is not None:
            on_chunk()
        last_order, complaint2, csat, lost_opp = (
            dict(conn.execute(q, {"ids": chunk}).all()) for q in stmts)
        _upsert(conn, CustomerFact, [
            {"customer_id": cid, "last_order_at": last_order.get(cid),
             "complaint2_at": complaint2.get(cid), "latest_csat": csat.get(cid),
             "lost_opp_at": lost_opp.get(cid)} for cid in chunk], SIGNAL_COLUMNS)


def refresh_signals(session, customer_id):
    refresh_signals_many(session.connection(), [customer_id])


# --- rebuild ------------------------------------------------------------------------------
def wipe(bind):
    for model in READ_MODELS:
        bind.execute(delete(model))
    bind.execute(update(Staff).values(seen=0, department=Staff.manual_department))


def rebuild(session, tz, batch=20000, on_page=None):
    """Wipe the read models and replay the event log, entity by entity (keyset pages
    of ``batch`` events; facts written per page with multi-row upserts, aggregates
    summed in memory and inserted once). ``on_page()`` is called after each page (the
    service yields to the eventlet hub there: heartbeats keep flowing during a long
    rebuild). Returns {"events": n, "entities": n}."""
    conn = session.connection()
    if _pg(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:ns, 0)"), {"ns": LOCK_NS_REBUILD})
    wipe(conn)
    totals, customers, staff = Counter(), set(), set()
    counts = {"events": 0, "entities": 0}
    after = None
    while True:
        stmt = select(EventLog.entity_kind, EventLog.entity_id, EventLog.envelope).order_by(
            EventLog.entity_kind, EventLog.entity_id, EventLog.id).limit(batch)
        if after is not None:
            stmt = stmt.where(tuple_(EventLog.entity_kind, EventLog.entity_id) > after)
        rows = conn.execute(stmt).all()
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
            groups[keys[0]] = conn.scalars(select(EventLog.envelope).where(
                EventLog.entity_kind == kind, EventLog.entity_id == eid)).all()
        folded = []
        for key in keys:
            kind = key[0]
            envs = groups[key]
            facts = domain.fold(kind, [domain.norm(e) for e in envs])
            folded.append((key, facts))
            totals.update(domain.contributions(kind, facts, tz))
            if kind in CUSTOMER_LINKED:
                customers |= _customers_of(kind, facts)
            for env in envs:
                staff.update(domain.staff_seen(env))
            counts["events"] += len(envs)
        counts["entities"] += len(keys)
        customers |= write_facts_many(conn, folded)
        after = keys[-1]
        if on_page is not None:
            on_page()
    mark_staff_many(conn, staff, move=False)
    departments = dict(conn.execute(select(Staff.employee_id, Staff.department).where(
        Staff.department.is_not(None))).all())
    totals.update(domain.department_deltas(totals, departments))
    live = {k: v for k, v in totals.items() if v}
    for chunk in _chunks(sorted(live.items()), 20000):
        conn.execute(KpiMonth.__table__.insert(), [
            {"owner": o, "month": m, "metric": k, "value": v} for (o, m, k), v in chunk])
        if on_page is not None:
            on_page()
    refresh_signals_many(conn, sorted(customers), on_chunk=on_page)
    return counts
