"""service_desk's queries (inside a unit of work)."""
import datetime as dt

from sqlalchemy import and_, func, literal, or_, select

from services.common import paging
from services.common.errors import NotFound, validation_error
from services.service_desk import domain
from services.service_desk.models import (
    Agent,
    CarePlan,
    CareTask,
    CustomerCopy,
    Faq,
    Survey,
    Ticket,
)

SEARCH_CANDIDATES = 200
SEARCH_IDS = 2000  # queue search: up to this many matches go on by id
CUSTOMER_MATCHES = 500  # queue search: customers of the copy whose name holds q


def _is_pg(session):
    return session.bind.dialect.name == "postgresql"


# --- tickets ------------------------------------------------------------------
def get_ticket(session, ticket_id, actor, for_update=False, read=False):
    """The ticket if ``actor`` may act on it (assignee, managers); with ``read`` also
    for the staff member who opened it (they keep seeing it once reassigned)."""
    stmt = select(Ticket).where(Ticket.id == ticket_id)
    if for_update and _is_pg(session):
        stmt = stmt.with_for_update()
    ticket = session.scalar(stmt)
    if ticket is None or not (actor.can_see(ticket.assignee_id) or (
            read and actor.id is not None and ticket.opened_by == actor.id)):
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket


def ticket_event_data(ticket, **extra):
    """Ticket facts for events: no complainant contact, no free text."""
    data = {"ticket_id": ticket.id, "kind": ticket.kind, "severity": ticket.severity,
            "customer_id": ticket.customer_id, "assignee_id": ticket.assignee_id,
            "status": ticket.status, "channel": ticket.channel, "category": ticket.category,
            "opened_at": ticket.opened_at.isoformat(),
            "first_response_due_at": ticket.first_response_due_at.isoformat(),
            "resolution_due_at": ticket.resolution_due_at.isoformat()}
    data.update(extra)
    return data


def _text_match(session, q):
    """The tickets whose customer's name (the service desk's copy) holds ``q``, if any
    customer's does; else those whose subject or complainant does."""
    def has(column):  # SQLite's LIKE ignores ASCII case; PostgreSQL needs ILIKE
        # (a substring: % and _ are plain characters, escaped)
        return column.icontains(q, autoescape=True) if _is_pg(session) \
            else column.contains(q, autoescape=True)
    # a customer's name first: the copy is small, and its matches' tickets come
    # through the customer_id index (no read of the tickets table)
    named = select(CustomerCopy.customer_id).where(has(CustomerCopy.name))
    names = session.scalars(named.limit(CUSTOMER_MATCHES + 1)).all()
    if names:
        return Ticket.customer_id.in_(names if len(names) <= CUSTOMER_MATCHES else named)
    # subject or complainant: a substring read of the table, once, for the
    # matching ids; the count and the page then go by primary key
    match = or_(has(Ticket.subject), has(Ticket.complainant_name))
    ids = session.scalars(select(Ticket.id).where(match).limit(SEARCH_IDS + 1)).all()
    return Ticket.id.in_(ids) if len(ids) <= SEARCH_IDS else match


def list_tickets(session, filters, owner_scope, page, page_size, actor_id=None, cursor=None):
    """Staff (``owner_scope``) see tickets assigned to them or opened by them;
    ``mine`` narrows a manager's list the same way. ``q``: ``#id`` is that ticket; a
    bare number is the ticket with that id or text holding the number; else the tickets
    of the customers whose name (the service desk's copy) holds it, if any does; else
    subject or complainant. ``sort``: ``due`` (the running clock's due time first,
    resolved last) or newest first. Keyset paging
    (``cursor``) → (tickets, next_cursor, total, total_is_estimate)."""
    stmt = select(Ticket)
    me = owner_scope if owner_scope is not None else (actor_id if filters.get("mine") else None)
    if me is not None:
        stmt = stmt.where(or_(Ticket.assignee_id == me, Ticket.opened_by == me))
    for key in ("status", "kind", "severity", "assignee_id", "customer_id"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Ticket, key) == filters[key])
    if filters.get("active"):
        stmt = stmt.where(Ticket.status.in_(domain.ACTIVE_STATUSES))
    q = (filters.get("q") or "").strip()
    if q.startswith("#") and q[1:].isdigit() and len(q) < 20:
        stmt = stmt.where(Ticket.id == int(q[1:]))
    elif q:
        found = _text_match(session, q)
        if q.isdigit() and len(q) < 19:  # a number typed bare: the ticket, or text holding it
            found = or_(Ticket.id == int(q), found)
        stmt = stmt.where(found)
    if filters.get("breached") is not None:
        breached = or_(Ticket.first_response_breached_at.is_not(None),
                       Ticket.resolution_breached_at.is_not(None))
        stmt = stmt.where(breached if filters["breached"] else ~breached)
    if filters.get("sort") != "due":
        return paging.orm_page(session, stmt, Ticket.id, filters, cursor, page, page_size,
                               descending=True)
    return _due_page(session, stmt, filters, page, page_size, cursor)


def _due_page(session, stmt, filters, page, page_size, cursor):
    """``sort=due``: running clocks first by due time (the next_due_at index gives the
    order), then the resolved/closed ones newest first: two index-ordered reads, no sort
    of the lot. Keyset: the cursor names the group and the last key in it."""
    body = paging.decode_cursor(cursor, filters)
    group, key = 0, None
    if body is not None:
        k = body["k"]
        try:
            if k[0] == 0 and len(k) == 3:
                group, key = 0, (dt.datetime.fromisoformat(k[1]), int(k[2]))
            elif k[0] == 1 and len(k) == 2:
                group, key = 1, int(k[1])
            else:
                raise ValueError
        except (TypeError, ValueError, IndexError):
            raise validation_error({"cursor": paging.BAD_CURSOR}) from None
    # page numbers: SQL OFFSET inside each group; the running group is counted (at most
    # ``offset`` of its ids) only when the page starts past its end
    offset = 0 if body is not None else (page - 1) * page_size
    want = page_size + 1
    out, skip_done = [], offset
    if group == 0:
        running = stmt.where(Ticket.next_due_at.is_not(None))
        if key is not None:
            running = running.where(paging.after((Ticket.next_due_at, Ticket.id), False, key))
        q = running.order_by(Ticket.next_due_at, Ticket.id).limit(want)
        out += [(0, t) for t in session.scalars(q.offset(offset) if offset else q).all()]
        if out:
            skip_done = 0
        elif offset:
            ids = running.with_only_columns(Ticket.id).order_by(None).limit(offset).subquery()
            skip_done = offset - session.scalar(select(func.count()).select_from(ids))
    if len(out) < want:
        done = stmt.where(Ticket.next_due_at.is_(None))
        if group == 1:
            done = done.where(Ticket.id < key)
        q = done.order_by(Ticket.id.desc()).limit(want - len(out))
        out += [(1, t) for t in session.scalars(q.offset(skip_done) if skip_done else q).all()]
    more = len(out) > page_size
    out = out[:page_size]
    next_cursor = None
    if more:
        g, t = out[-1]
        last = [0, t.next_due_at.isoformat(), t.id] if g == 0 else [1, t.id]
        next_cursor = paging.encode_cursor(filters, last)
    total, estimate = paging.capped_total(session, stmt.with_only_columns(Ticket.id),
                                          Ticket.id, Ticket.id)
    return [t for _, t in out], next_cursor, total, estimate


def customer_names(session, customer_ids):
    ids = {i for i in customer_ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(CustomerCopy.customer_id, CustomerCopy.name)
                                .where(CustomerCopy.customer_id.in_(ids))).all())


def search_customers(session, q, limit):
    """Customers of the service desk's copy whose name contains ``q`` (lost ones last)."""
    like = f"%{q.strip().lower()}%"
    stmt = (select(CustomerCopy).where(func.lower(CustomerCopy.name).like(like))
            .order_by((CustomerCopy.type == "lost"), func.length(CustomerCopy.name),
                      CustomerCopy.customer_id).limit(limit))
    return session.scalars(stmt).all()


def open_loads(session):
    """{assignee_id: open tickets} over tickets not yet resolved."""
    rows = session.execute(select(Ticket.assignee_id, func.count()).where(
        Ticket.status.in_(domain.ACTIVE_STATUSES), Ticket.assignee_id.is_not(None))
        .group_by(Ticket.assignee_id)).all()
    return dict(rows)


def open_by_severity(session):
    rows = session.execute(select(Ticket.severity, func.count()).where(
        Ticket.status.in_(domain.ACTIVE_STATUSES)).group_by(Ticket.severity)).all()
    counts = {s: 0 for s in domain.SEVERITIES}
    counts.update(dict(rows))
    return counts


def breach_candidates(session, now, limit=500):
    """Tickets with a clock past due, not done in time and not yet reported."""
    fr = and_(Ticket.first_response_breached_at.is_(None), Ticket.first_response_due_at < now,
              or_(Ticket.first_responded_at.is_(None),
                  Ticket.first_responded_at > Ticket.first_response_due_at))
    rs = and_(Ticket.resolution_breached_at.is_(None), Ticket.resolution_due_at < now,
              or_(Ticket.resolved_at.is_(None), Ticket.resolved_at > Ticket.resolution_due_at))
    return session.scalars(select(Ticket).where(or_(fr, rs)).order_by(Ticket.id)
                           .limit(limit)).all()


def get_survey(session, ticket_id):
    return session.scalar(select(Survey).where(Survey.ticket_id == ticket_id))


# --- agents -------------------------------------------------------------------
def active_agents(session):
    return [(a.agent_id, a.categories or []) for a in session.scalars(
        select(Agent).where(Agent.active.is_(True)).order_by(Agent.agent_id))]


def agent_out(agent, loads):
    return {"agent_id": agent.agent_id, "name": agent.name, "categories": agent.categories or [],
            "active": agent.active, "open_tickets": loads.get(agent.agent_id, 0),
            "updated_at": agent.updated_at}


# --- customers copy, care -----------------------------------------------------
def customer_copy(session, customer_id):
    return session.get(CustomerCopy, customer_id)


def get_plan(session, plan_id, actor):
    plan = session.get(CarePlan, plan_id)
    if plan is None or not actor.can_see(plan.assignee_id):
        raise NotFound(f"care plan {plan_id} not found")
    return plan


def plan_out(plan):
    out = {c: getattr(plan, c) for c in (
        "id", "customer_id", "kind", "assignee_id", "start_date", "expiry_date",
        "interval_days", "note", "active", "auto", "created_by", "created_at")}
    out["reminder_date"] = (domain.contract_reminder_date(plan.expiry_date)
                            if plan.expiry_date else None)
    return out


def active_plans(session, owner_scope, kind=None, customer_id=None):
    stmt = select(CarePlan).where(CarePlan.active.is_(True))
    if owner_scope is not None:
        stmt = stmt.where(CarePlan.assignee_id == owner_scope)
    if kind:
        stmt = stmt.where(CarePlan.kind == kind)
    if customer_id is not None:
        stmt = stmt.where(CarePlan.customer_id == customer_id)
    return session.scalars(stmt.order_by(CarePlan.id)).all()


def list_plans(session, owner_scope, customer_id, page, page_size, cursor=None,
               newest_first=False):
    """Care plans in id order (``newest_first``: the newest first) → (plans, next_cursor,
    total, is_estimate): keyset paging (``services.common.paging``) on ``(assignee_id,
    id)`` / ``(customer_id, id)``; a cursor holds its order (one of the other order is
    refused)."""
    filters = {"owner_scope": owner_scope, "customer_id": customer_id}
    if newest_first:
        filters["order"] = "newest"
    return paging.orm_page(session, plans_query(owner_scope, customer_id), CarePlan.id,
                           filters, cursor, page, page_size, descending=newest_first)


def plans_query(owner_scope, customer_id):
    stmt = select(CarePlan)
    if owner_scope is not None:
        stmt = stmt.where(CarePlan.assignee_id == owner_scope)
    if customer_id is not None:
        stmt = stmt.where(CarePlan.customer_id == customer_id)
    return stmt


def due_tasks(session, owner_scope, day, include_overdue):
    on_day = CareTask.due_date == day
    cond = or_(on_day, and_(CareTask.status == "due", CareTask.due_date < day)) \
        if include_overdue else on_day
    stmt = select(CareTask).where(cond)
    if owner_scope is not None:
        stmt = stmt.where(CareTask.assignee_id == owner_scope)
    return session.scalars(stmt.order_by(CareTask.due_date, CareTask.id)).all()


def task_keys(session, plan_ids):
    if not plan_ids:
        return set()
    return set(session.execute(select(CareTask.plan_id, CareTask.occasion).where(
        CareTask.plan_id.in_(plan_ids))).all())


def get_task(session, task_id, actor, for_update=False):
    stmt = select(CareTask).where(CareTask.id == task_id)
    if for_update and _is_pg(session):
        stmt = stmt.with_for_update()
    task = session.scalar(stmt)
    if task is None or not actor.can_see(task.assignee_id):
        raise NotFound(f"care task {task_id} not found")
    return task


# --- FAQ ----------------------------------------------------------------------
def get_faq(session, faq_id, for_update=False):
    stmt = select(Faq).where(Faq.id == faq_id)
    if for_update and _is_pg(session):
        stmt = stmt.with_for_update()
    faq = session.scalar(stmt)
    if faq is None:
        raise NotFound(f"FAQ entry {faq_id} not found")
    return faq


def faq_out(faq, score=None):
    out = {c: getattr(faq, c) for c in (
        "id", "question", "answer", "category", "keywords", "status", "hits", "author_id",
        "created_at", "updated_at", "published_at")}
    if score is not None:
        out["score"] = score
    return out


def list_faqs(session, filters, page, page_size, cursor=None, newest_first=False):
    """FAQ entries in id order (``newest_first``: the newest first) → (entries,
    next_cursor, total, is_estimate): keyset paging on ``(status, id)`` / ``(category,
    id)``; a cursor holds its order."""
    bound = dict(filters, order="newest") if newest_first else filters
    return paging.orm_page(session, faqs_query(filters), Faq.id, bound, cursor, page,
                           page_size, descending=newest_first)


def faqs_query(filters):
    stmt = select(Faq)
    for key in ("status", "category"):
        if filters.get(key):
            stmt = stmt.where(getattr(Faq, key) == filters[key])
    return stmt


def search_faq(session, query, category=None):
    """Published entries matching ``query`` → [(faq, score)], best first.

    Candidates come from SQL: on PostgreSQL full-text (``to_tsvector('simple')``,
    which keeps a CJK run as one word) OR a case-insensitive substring match of
    any term (words and CJK bigrams); on SQLite the substring match alone. The
    final order is ``domain.score`` (+ ``ts_rank`` on PostgreSQL).
    """
    terms = domain.tokens(query)
    if not terms:
        return []
    text = func.lower(Faq.question + literal(" ") + Faq.answer + literal(" ")
                      + func.coalesce(Faq.keywords, "") + literal(" ") + Faq.category)
    match = or_(*[text.contains(t) for t in terms])
    rank = literal(0.0)
    if _is_pg(session):
        words = domain.fts_words(query)
        tsquery = func.to_tsquery("simple", " | ".join(f"'{w}'" for w in words))
        vector = func.to_tsvector("simple", text)
        match = or_(vector.op("@@")(tsquery), match)
        rank = func.ts_rank(vector, tsquery)
    stmt = select(Faq, rank).where(Faq.status == "published", match)
    if category:
        stmt = stmt.where(Faq.category == category)
    rows = session.execute(stmt.order_by(rank.desc(), Faq.id).limit(SEARCH_CANDIDATES)).all()
    scored = []
    for faq, ts in rows:
        s = domain.score(query, terms, faq.question, faq.answer, faq.category, faq.keywords)
        s = round(s + 5 * float(ts or 0), 4)
        if s > 0:
            scored.append((faq, s))
    scored.sort(key=lambda x: (-x[1], -x[0].hits, x[0].id))
    return scored


def top_faq(session, limit, category=None):
    stmt = select(Faq).where(Faq.status == "published")
    if category:
        stmt = stmt.where(Faq.category == category)
    return session.scalars(stmt.order_by(Faq.hits.desc(), Faq.id).limit(limit)).all()
