"""service_desk's writes, inside the caller's unit of work (nothing here commits).

Each records the ticket timeline and emits its events to the outbox.
"""
import datetime as dt
import logging

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from services.common.errors import Conflict, Forbidden, validation_error
from services.service_desk import care_contacts, care_legacy, domain, queue
from services.service_desk import repository as repo
from services.service_desk.models import (
    Agent,
    CarePlan,
    CareTask,
    CustomerCopy,
    Faq,
    Survey,
    Ticket,
    TicketEntry,
)

log = logging.getLogger(__name__)
CARE_LOOKBACK_DAYS = 31


def _entry(ticket, actor, when, kind, text=None, **extra):
    ticket.entries.append(TicketEntry(kind=kind, author_id=actor.label, at=when, text=text,
                                      **extra))
    ticket.updated_at = when
    ticket.next_due_at = queue.next_due(ticket)  # every state change passes here


# --- tickets ------------------------------------------------------------------
def open_ticket(uow, actor, data, when):
    session = uow.session
    agents = repo.active_agents(session)
    # the loads only matter when someone is on the roster (a count over open tickets)
    assignee = domain.pick_agent(agents, repo.open_loads(session) if agents else {},
                                 data.get("category"))
    if assignee is None and not actor.is_manager:
        assignee = actor.id  # no roster yet: the agent who took the call keeps it
    ticket = Ticket(**data, status="open", assignee_id=assignee, opened_by=actor.label,
                    opened_at=when, updated_at=when,
                    first_response_due_at=domain.first_response_due(data["severity"], when),
                    resolution_due_at=domain.resolution_due(data["severity"], when))
    session.add(ticket)
    _entry(ticket, actor, when, "opened")
    if assignee:
        _entry(ticket, actor, when, "assignment", from_assignee=None, to_assignee=assignee)
    session.flush()
    uow.emit("ticket_opened", repo.ticket_event_data(ticket, auto_assigned=bool(assignee)), when)
    return ticket


def assign(uow, actor, ticket, assignee_id, when):
    if not actor.is_manager:
        raise Forbidden("only managers assign tickets")
    domain.check_transition(ticket.status, "assign")
    agents = repo.active_agents(uow.session)
    if assignee_id is None:
        assignee_id = domain.pick_agent(agents, repo.open_loads(uow.session), ticket.category)
        if assignee_id is None:
            raise Conflict("no active agent in the service roster", code="NO_AGENT")
        auto = True
    else:
        if assignee_id not in {a for a, _ in agents}:
            raise validation_error({"assignee_id": "not an active agent of the service roster"})
        auto = False
    previous = ticket.assignee_id
    if previous == assignee_id:
        return ticket
    ticket.assignee_id = assignee_id
    _entry(ticket, actor, when, "assignment", from_assignee=previous, to_assignee=assignee_id)
    uow.session.flush()
    uow.emit("ticket_assigned", repo.ticket_event_data(
        ticket, previous_assignee_id=previous, auto=auto), when)
    return ticket


def _first_response(uow, ticket, when):
    """Record the first response if there was none → True if this was it."""
    if ticket.first_responded_at is not None:
        return False
    ticket.first_responded_at = when
    return True


def respond(uow, actor, ticket, message, when):
    ticket.status = domain.check_transition(ticket.status, "respond")
    first = _first_response(uow, ticket, when)
    _entry(ticket, actor, when, "response", message, notify_customer=True)
    uow.session.flush()
    uow.emit("ticket_responded", repo.ticket_event_data(
        ticket, first_response=first, responded_at=when.isoformat(),
        within_sla=domain.within(ticket.first_responded_at, ticket.first_response_due_at)), when)
    return ticket


def add_progress(uow, actor, ticket, note, notify_customer, when):
    domain.check_transition(ticket.status, "progress")
    _entry(ticket, actor, when, "progress", note, notify_customer=notify_customer)
    uow.session.flush()
    return ticket


def coordinate(uow, actor, ticket, department, note, when):
    domain.check_transition(ticket.status, "coordinate")
    _entry(ticket, actor, when, "coordination", note, department=department)
    uow.session.flush()
    return ticket


def resolve(uow, actor, ticket, resolution, root_cause, when):
    ticket.status = domain.check_transition(ticket.status, "resolve")
    if _first_response(uow, ticket, when):  # resolving answers the customer too
        uow.emit("ticket_responded", repo.ticket_event_data(
            ticket, first_response=True, responded_at=when.isoformat(),
            within_sla=domain.within(when, ticket.first_response_due_at)), when)
    ticket.resolved_at, ticket.resolution, ticket.root_cause = when, resolution, root_cause
    _entry(ticket, actor, when, "resolution", resolution)
    uow.session.flush()
    uow.emit("ticket_resolved", repo.ticket_event_data(
        ticket, root_cause=root_cause, resolved_at=when.isoformat(),
        within_sla=domain.within(when, ticket.resolution_due_at),
        reopen_count=ticket.reopen_count), when)
    return ticket


def close(uow, actor, ticket, when):
    ticket.status = domain.check_transition(ticket.status, "close")
    ticket.closed_at = when
    _entry(ticket, actor, when, "close")
    uow.session.flush()
    uow.emit("ticket_closed", repo.ticket_event_data(ticket), when)
    return ticket


def reopen(uow, actor, ticket, reason, when):
    ticket.status = domain.check_transition(ticket.status, "reopen")
    ticket.resolved_at = ticket.resolution = ticket.root_cause = ticket.closed_at = None
    ticket.resolution_due_at = domain.resolution_due(ticket.severity, when)
    ticket.resolution_breached_at = None  # a new clock may breach again
    ticket.reopen_count += 1
    _entry(ticket, actor, when, "reopen", reason)
    uow.session.flush()
    uow.emit("ticket_reopened", repo.ticket_event_data(ticket, reopen_count=ticket.reopen_count),
             when)
    return ticket


def submit_survey(uow, actor, ticket, score, comment, when):
    if ticket.status not in ("resolved", "closed"):
        raise Conflict("a survey is taken after the ticket is resolved",
                       {"status": [f"ticket is {ticket.status}"]}, code="ILLEGAL_TRANSITION")
    if repo.get_survey(uow.session, ticket.id) is not None:
        raise Conflict("this ticket already has a survey", code="DUPLICATE_SURVEY")
    survey = Survey(ticket_id=ticket.id, score=score, comment=comment, answered_at=when,
                    recorded_by=actor.label)
    uow.session.add(survey)
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except IntegrityError:
        raise Conflict("this ticket already has a survey", code="DUPLICATE_SURVEY") from None
    uow.emit("survey_answered", {
        "survey_id": survey.id, "ticket_id": ticket.id, "customer_id": ticket.customer_id,
        "assignee_id": ticket.assignee_id, "kind": ticket.kind, "severity": ticket.severity,
        "score": score, "has_comment": bool(comment)}, when)
    return survey


def scan_breaches(uow, now):
    """Report every clock breached by ``now`` exactly once → [(severity, clock)].

    The conditional UPDATE (``... AND <clock>_breached_at IS NULL``) makes a
    concurrent scanner (another process, the timer racing the RPC) find
    nothing left to report.
    """
    reported = []
    for ticket in repo.breach_candidates(uow.session, now):
        for clock, due in domain.breached_clocks(ticket, now):
            column = getattr(Ticket, f"{clock}_breached_at")
            result = uow.session.execute(
                update(Ticket).where(Ticket.id == ticket.id, column.is_(None))
                .values({column.key: now}).execution_options(synchronize_session=False))
            if result.rowcount != 1:
                continue
            uow.audit([{"record_type": "ticket", "record_id": ticket.id,
                        "action": "sla_breached", "before": {column.key: None},
                        "after": {column.key: now}}], at=now)
            uow.emit("ticket_sla_breached", repo.ticket_event_data(
                ticket, clock=clock, due_at=due.isoformat(), detected_at=now.isoformat()), due)
            reported.append((ticket.severity, clock))
    return reported


# --- agents -------------------------------------------------------------------
def set_agent(uow, actor, agent_id, data, when):
    if not actor.is_manager:
        raise Forbidden("only managers edit the service roster")
    agent = uow.session.get(Agent, agent_id) or Agent(agent_id=agent_id)
    agent.name, agent.categories, agent.active = data.get("name"), data["categories"], \
        data["active"]
    agent.updated_at = when
    uow.session.add(agent)
    uow.session.flush()
    return agent


# --- customers copy (events / RPC) -------------------------------------------
def birthdays_of(customer):
    """The contacts with a birthday of a customers.get_customer result (``care_contacts``)."""
    return care_contacts.incoming(customer)


def contact_of(customer):
    """The primary contact's name and masked mobile (or email) of a
    customers.get_customer result, for the service desk's customer picker."""
    from services.common.identifiers import mask_email, mask_mobile
    contacts = customer.get("contacts") or []
    c = next((c for c in contacts if c.get("is_primary")), contacts[0] if contacts else None)
    if not c:
        return ""
    reach = mask_mobile(c.get("mobile")) or mask_email(c.get("email")) or ""
    return f"{c.get('name') or ''} {reach}".strip()[:120]


def upsert_customer(session, customer_id, facts, event_at=None, birthdays=None, contact=None):
    """Keep our copy; facts older than what we hold (events race per type) are ignored."""
    copy = session.get(CustomerCopy, customer_id)
    created = False
    if copy is None:
        # an event handler and an RPC may create the same copy at once (PostgreSQL):
        # insert in a savepoint; if the other one won, read the row it committed
        try:
            with session.begin_nested():
                session.add(CustomerCopy(customer_id=customer_id, tier="normal", birthdays=[]))
            created = True
        except IntegrityError:
            pass
        copy = session.get(CustomerCopy, customer_id)
    fresh = (created or event_at is None or copy.updated_at is None
             or event_at >= copy.updated_at)
    if fresh:
        for key in ("name", "owner_id", "type", "tier"):
            if facts.get(key) is not None:
                setattr(copy, key, facts[key])
        if event_at is not None:
            copy.updated_at = event_at
    if contact is not None:
        copy.contact_masked = contact
    if birthdays is not None:  # contacts keep their keys across syncs (care_contacts)
        copy.birthdays = care_contacts.merge(copy.birthdays, birthdays)
        copy.contacts_synced_at = dt.datetime.now(dt.UTC)
    session.flush()
    return copy


def apply_customer_event(uow, envelope, birthdays, today, contact=None):
    data = envelope["data"]
    occurred = dt.datetime.fromisoformat(envelope["occurred_at"].replace("Z", "+00:00"))
    copy = upsert_customer(uow.session, data["customer_id"], data, occurred, birthdays,
                           contact=contact)
    sync_visit_plan(uow.session, copy, today)


def sync_visit_plan(session, copy, today):
    """Strategic and key customers get an automatic periodic-visit plan; others lose it."""
    active = repo.active_plans(session, None, "periodic_visit", copy.customer_id)
    plans = [p for p in active if p.auto]
    wanted = copy.tier in domain.VISIT_TIERS and copy.type != "lost"
    if not wanted:
        for p in plans:
            p.active = False
        return
    interval = domain.VISIT_INTERVAL_DAYS[copy.tier]
    for p in plans:
        p.interval_days = interval
    if active:  # an automatic or a hand-made plan already covers it
        return
    assignee = domain.pick_agent(repo.active_agents(session), repo.open_loads(session))
    session.add(CarePlan(customer_id=copy.customer_id, kind="periodic_visit", auto=True,
                         assignee_id=assignee, start_date=today, interval_days=interval,
                         created_by="system", note=f"{copy.tier} customer: visit every "
                                                   f"{interval} days"))
    session.flush()


# --- care plans ---------------------------------------------------------------
def create_plan(uow, actor, data, copy, when, today):
    assignee = data.get("assignee_id")
    if not actor.is_manager:
        if assignee and assignee != actor.id:
            raise validation_error({"assignee_id": "staff can only create plans they own"})
        assignee = actor.id
    kind = data["kind"]
    if kind == "periodic_visit":
        if copy.tier not in domain.VISIT_TIERS:
            raise Conflict("periodic visits are for strategic and key customers",
                           {"kind": [f"customer tier is {copy.tier}"]}, code="TIER_NOT_ELIGIBLE")
        data.setdefault("interval_days", None)
        data["interval_days"] = data["interval_days"] or domain.VISIT_INTERVAL_DAYS[copy.tier]
    for plan in repo.active_plans(uow.session, None, kind, copy.customer_id):
        if plan.auto:  # claim the automatic periodic-visit plan instead of doubling it
            plan.auto, plan.assignee_id, plan.created_by = False, assignee, actor.label
            plan.interval_days = data["interval_days"]
            plan.start_date = data.get("start_date") or plan.start_date
            plan.note = data.get("note") or plan.note
            uow.session.flush()
            return plan
        if kind != "contract_expiry" or plan.expiry_date == data.get("expiry_date"):
            raise Conflict(f"customer already has an active {kind} plan ({plan.id})",
                           code="DUPLICATE_PLAN")
    plan = CarePlan(customer_id=copy.customer_id, kind=kind, assignee_id=assignee,
                    start_date=data.get("start_date") or today,
                    expiry_date=data.get("expiry_date"), interval_days=data.get("interval_days"),
                    note=data.get("note"), created_by=actor.label, created_at=when)
    uow.session.add(plan)
    uow.session.flush()
    return plan


def materialise_tasks(uow, owner_scope, day):
    """Create the care tasks falling due in the look-back window up to ``day``."""
    session = uow.session
    plans = repo.active_plans(session, owner_scope)
    existing = repo.task_keys(session, [p.id for p in plans])
    legacy = care_legacy.slots(session, [p.id for p in plans])
    copies = {}
    for plan in plans:
        if plan.customer_id not in copies:
            copies[plan.customer_id] = repo.customer_copy(session, plan.customer_id)
        copy = copies[plan.customer_id]
        contacts = care_contacts.birthdays(copy.birthdays if copy else [])
        tier = copy.tier if copy else None
        first = max(plan.start_date, day - dt.timedelta(days=CARE_LOOKBACK_DAYS))
        for offset in range((day - first).days + 1):
            when = first + dt.timedelta(days=offset)
            for occasion, title in domain.occasions_on(plan, when, contacts, tier):
                if (plan.id, occasion) in existing or care_legacy.claim(legacy, plan.id,
                                                                        title, when):
                    continue
                existing.add((plan.id, occasion))
                try:
                    with session.begin_nested():
                        session.add(CareTask(plan_id=plan.id, customer_id=plan.customer_id,
                                             kind=plan.kind, occasion=occasion, title=title,
                                             due_date=when, assignee_id=plan.assignee_id))
                        session.flush()
                except IntegrityError:  # another worker made it first
                    continue


def record_visit(uow, actor, task, data, when):
    if task.status == "done":
        raise Conflict("this care task is already done", code="ALREADY_DONE")
    task.status, task.done_at, task.visitor_id = "done", when, actor.label
    task.channel, task.outcome = data["channel"], data["outcome"]
    task.satisfaction = data.get("satisfaction")
    uow.session.flush()
    uow.emit("care_visit_completed", {
        "task_id": task.id, "plan_id": task.plan_id, "customer_id": task.customer_id,
        "kind": task.kind, "channel": task.channel, "satisfaction": task.satisfaction,
        "visitor_id": actor.id, "due_date": task.due_date.isoformat()}, when)
    return task


# --- FAQ ----------------------------------------------------------------------
def create_faq(uow, actor, data, when):
    faq = Faq(**data, status="draft", hits=0, author_id=actor.label, created_at=when,
              updated_at=when)
    uow.session.add(faq)
    uow.session.flush()
    return faq


def update_faq(uow, actor, faq, changes, when):
    for key, value in changes.items():
        setattr(faq, key, value)
    faq.updated_at = when
    uow.session.flush()
    return faq


def set_published(uow, actor, faq, published, when):
    if not domain.may_publish_faq(actor):
        raise Forbidden("only service agents and managers publish FAQ entries")
    wanted = "published" if published else "draft"
    if faq.status == wanted:
        raise Conflict(f"FAQ entry is already {wanted}", code="ILLEGAL_TRANSITION")
    faq.status, faq.updated_at = wanted, when
    faq.published_at = when if published else None
    uow.session.flush()
    return faq


def count_hits(uow, faqs):
    ids = [f.id for f in faqs]
    if ids:
        uow.session.execute(update(Faq).where(Faq.id.in_(ids)).values(hits=Faq.hits + 1)
                            .execution_options(synchronize_session=False))
        for f in faqs:
            uow.session.expire(f, ["hits"])  # reload the counted value
