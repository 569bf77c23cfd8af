"""sales' write operations. Each runs inside the caller's unit of work, emits its
events to the outbox and never commits; no RPC happens here (callers make their
RPC calls before opening the unit of work)."""
from types import SimpleNamespace

from services.common.db import raw_cursor, raw_insert, wrap_dbapi_error
from services.common.errors import Conflict, Forbidden, validation_error
from services.sales import domain
from services.sales import repository as repo
from services.sales.models import (
    Activity,
    AssignmentRule,
    Competitor,
    FollowUp,
    Lead,
    Opportunity,
    Order,
    OrderChange,
    OrderLine,
    Payment,
    Shipment,
    StageHistory,
)


def owner_for(actor, requested, what):
    """Staff own what they create; managers may name another owner."""
    if actor.is_manager:
        return requested or (None if actor.is_system else actor.id)
    if requested and requested != actor.id:
        raise validation_error({"owner_id": f"staff can only create {what} they own"})
    return actor.id


# --- leads ----------------------------------------------------------------------------
LEADS = Lead.__table__
# every column but the id: a new lead's record starts with all of them NULL (the ORM's
# column defaults only fill created_at / updated_at, which create_lead always gives)
_LEAD_COLUMNS = tuple(c.key for c in LEADS.c if not c.primary_key)


def new_lead_record(actor, data, when, customer=None):
    """The row of a new lead (no I/O): owner, status and the customer's facts.
    Raises ValidationError (staff naming another owner)."""
    # staff own the leads they create; a manager's lead without owner_id waits for
    # assign_lead (rules or by hand)
    data = dict(data)
    requested = data.pop("owner_id", None)
    owner = requested if actor.is_manager else owner_for(actor, requested, "leads")
    if customer:  # existing customer: take its name / region / industry for the rules
        for key, src in (("customer_name", "name"), ("region", "region"),
                         ("industry_code", "industry_code")):
            data[key] = data.get(key) or customer.get(src)
    unknown = set(data) - set(_LEAD_COLUMNS)
    if unknown:  # what Lead(**data) refused
        raise TypeError(f"not lead columns: {sorted(unknown)}")
    record = dict.fromkeys(_LEAD_COLUMNS)
    record.update(data)
    record.update(owner_id=owner, status="following_up" if owner else "new",
                  assignment_rule="manual" if owner else None,
                  assigned_at=when if owner else None, created_at=when, updated_at=when)
    return record


def create_lead(uow, actor, data, when, customer=None):
    """One new lead → a read-only view of it (the attributes of a ``Lead``)."""
    return insert_lead(uow, new_lead_record(actor, data, when, customer), when)


def insert_lead(uow, record, when):
    """Write a ``new_lead_record`` with one Core insert on the transaction's raw cursor
    (``raw_insert``: the columns' own bind processors, the same row an ORM flush
    writes) and queue ``lead_created`` in the same transaction → a read-only view of
    the lead (the attributes of a ``Lead``). A refused row raises SQLAlchemy's
    exception class (IntegrityError, DataError…); the caller's unit of work rolls back."""
    record = dict(record)
    conn = uow.connection
    cursor = raw_cursor(conn)
    try:
        raw_insert(LEADS, conn.dialect, returning=("id",)).execute(cursor, record)
        record["id"] = cursor.fetchone()[0]
    except conn.dialect.loaded_dbapi.Error as exc:
        raise wrap_dbapi_error(exc, conn, "INSERT INTO leads") from exc
    finally:
        cursor.close()
    lead = SimpleNamespace(**record)
    uow.audit([{"record_type": "lead", "record_id": record["id"], "action": "created",
                "before": None, "after_row": (Lead, record)}], at=when)
    uow.emit("lead_created", repo.lead_event(lead), when)
    return lead


def set_rules(uow, actor, rules, when):
    problems = domain.validate_rules(rules)
    if problems:
        raise validation_error({"rules": problems})
    for row in repo.load_rules(uow.session, for_update=True):
        uow.session.delete(row)
    uow.session.flush()
    rows = []
    for i, rule in enumerate(rules):
        spec = {k: v for k, v in rule.items() if k != "kind"}
        row = AssignmentRule(position=i, kind=rule["kind"], spec=spec, cursor=0,
                             created_by=actor.label, created_at=when)
        uow.session.add(row)
        rows.append(row)
    uow.session.flush()
    return rows


def _rule_dicts(rows):
    return [dict(r.spec, kind=r.kind) for r in rows]


def assign_by_rules(uow, lead, when, required=True):
    """Apply the stored rules → (owner, rule) or raise Conflict (if ``required``)."""
    rows = repo.load_rules(uow.session, for_update=True)
    rules = _rule_dicts(rows)
    rr = next((r for r in rows if r.kind == "round_robin"), None)
    owner, kind, cursor = domain.choose_owner(rules, repo.lead_facts(lead),
                                              rr.cursor if rr else 0)
    if owner is None:
        if required:
            raise Conflict("no assignment rule matches this lead; assign an owner by hand",
                           code="NO_MATCHING_RULE")
        return None, None
    if kind == "round_robin":
        rr.cursor = cursor
    return owner, kind


def assign_lead(uow, actor, lead, owner_id, when, required=True):
    if lead.status not in domain.OPEN_LEAD:
        raise Conflict(f"a {lead.status} lead cannot be assigned")
    if owner_id is not None:
        if not actor.is_manager:
            raise Forbidden("only managers assign leads by hand")
        owner, kind = owner_id, "manual"
    else:
        owner, kind = assign_by_rules(uow, lead, when, required)
        if owner is None:
            return lead
    previous = lead.owner_id
    lead.owner_id, lead.assignment_rule, lead.assigned_at = owner, kind, when
    lead.status, lead.updated_at = "following_up", when
    uow.session.flush()
    uow.emit("lead_assigned", repo.lead_event(lead, previous_owner_id=previous, rule=kind), when)
    return lead


def disqualify_lead(uow, lead, reason, when):
    if lead.status not in domain.OPEN_LEAD:
        raise Conflict(f"a {lead.status} lead cannot be disqualified")
    lead.status, lead.disqualify_reason = "disqualified", reason
    lead.closed_at = lead.updated_at = when
    uow.session.flush()
    uow.emit("lead_disqualified", repo.lead_event(lead, reason=reason), when)
    return lead


def lead_from_campaign(uow, data, when, contact=None):
    """marketing's campaign_lead_generated → a lead, assigned by the rules.
    One lead per (campaign_id, participant_id), whatever the event id. ``contact``
    (contact_name / contact_mobile / contact_email) was fetched from marketing: the
    event carries no contact data."""
    campaign_id, participant_id = str(data["campaign_id"]), str(data["participant_id"])
    if repo.lead_for_participant(uow.session, campaign_id, participant_id) is not None:
        return None
    contact = contact or {}
    lead = Lead(source="campaign", status="new", customer_id=_int_or_none(data.get("customer_id")),
                customer_name=str(data["company_name"])[:200],
                contact_name=(data.get("contact_name") or contact.get("contact_name") or None),
                contact_mobile=(contact.get("contact_mobile") or None),
                contact_email=(contact.get("contact_email") or None),
                need=data.get("need"), region=data.get("region"),
                industry_code=(data.get("industry_code") or None),
                campaign_id=campaign_id, participant_id=participant_id,
                created_at=when, updated_at=when)
    uow.session.add(lead)
    uow.session.flush()
    uow.emit("lead_created", repo.lead_event(lead), when)
    assign_lead(uow, _System(), lead, None, when, required=False)
    return lead


def fill_contact(uow, lead_id, contact):
    """Store a campaign lead's contact fetched later (no event: contact data never
    travels in events)."""
    lead = uow.session.get(Lead, lead_id)
    if lead is None or lead.contact_mobile or lead.contact_email:
        return None
    lead.contact_name = lead.contact_name or contact.get("contact_name")
    lead.contact_mobile = contact.get("contact_mobile") or None
    lead.contact_email = contact.get("contact_email") or None
    uow.session.flush()
    return lead


class _System:
    is_manager = True
    is_system = True


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# --- opportunities ------------------------------------------------------------------------
def create_opportunity(uow, actor, data, when, owner, lead=None, customer_name=None):
    competitors = data.pop("competitors", []) or []
    data.pop("customer", None)
    name = data.pop("name", None) or f"{customer_name or 'customer ' + str(data['customer_id'])}"
    opp = Opportunity(**data, name=name[:200], owner_id=owner, stage="qualify",
                      stage_entered_at=when, created_at=when, updated_at=when,
                      lead_id=lead.id if lead is not None else None,
                      campaign_id=lead.campaign_id if lead is not None else None)
    opp.competitors = [Competitor(**c) for c in competitors]
    opp.history = [StageHistory(stage="qualify", entered_at=when, changed_by=actor.label)]
    uow.session.add(opp)
    uow.session.flush()
    uow.emit("opportunity_created", repo.opportunity_event(opp), when)
    return opp


def convert_lead(uow, actor, lead, data, customer_id, when):
    if lead.status not in domain.OPEN_LEAD:
        raise Conflict(f"a {lead.status} lead cannot be converted")
    data = dict(data, customer_id=customer_id)
    owner = lead.owner_id or (None if actor.is_system else actor.id)
    opp = create_opportunity(uow, actor, data, when, owner, lead=lead,
                             customer_name=lead.customer_name)
    lead.status, lead.customer_id, lead.opportunity_id = "converted", customer_id, opp.id
    lead.owner_id = owner
    lead.closed_at = lead.updated_at = when
    uow.session.flush()
    uow.emit("lead_converted", repo.lead_event(lead, opportunity_id=opp.id), when)
    return lead, opp


def _close_history(opp, when):
    for h in opp.history:
        if h.left_at is None and h.stage in domain.STAGES:
            h.left_at = when
            h.seconds = domain.seconds_between(h.entered_at, when)


def change_stage(uow, actor, opp, target, when, reason=None):
    problem = domain.stage_problem(opp.stage, target)
    if problem:
        raise Conflict(problem, code="ILLEGAL_TRANSITION")
    previous = opp.stage
    _close_history(opp, when)
    opp.history.append(StageHistory(stage=target, entered_at=when, changed_by=actor.label))
    opp.stage, opp.stage_entered_at, opp.updated_at = target, when, when
    if target in domain.CLOSED_STAGES:
        opp.closed_at = when
        if target == "lost":
            opp.lost_reason = reason
    uow.session.flush()
    if target == "won":
        uow.emit("opportunity_won", repo.opportunity_event(opp, from_stage=previous), when)
    elif target == "lost":
        uow.emit("opportunity_lost", repo.opportunity_event(opp, from_stage=previous,
                                                            reason=reason), when)
    else:
        uow.emit("opportunity_stage_changed",
                 repo.opportunity_event(opp, from_stage=previous), when)
    return opp


# --- follow-ups and activities ------------------------------------------------------------
def schedule_follow_up(uow, actor, opp, data, when):
    if opp.stage in domain.CLOSED_STAGES:
        raise Conflict(f"the opportunity is {opp.stage}: no more follow-ups")
    fu = FollowUp(opportunity_id=opp.id, owner_id=opp.owner_id, due_at=data["due_at"],
                  note=data.get("note"), status="open", created_at=when)
    uow.session.add(fu)
    uow.session.flush()
    uow.emit("follow_up_scheduled", repo.follow_up_event(fu, note_given=bool(fu.note)), when)
    return fu


def complete_follow_up(uow, fu, outcome, when):
    if fu.status != "open":
        raise Conflict("the follow-up is already completed")
    fu.status, fu.outcome, fu.completed_at = "done", outcome, when
    uow.session.flush()
    uow.emit("follow_up_completed", repo.follow_up_event(
        fu, completed_at=when.isoformat(), on_time=domain.on_time(fu.due_at, when)), when)
    return fu


def log_activity(uow, actor, opp, data, when):
    act = Activity(opportunity_id=opp.id, owner_id=opp.owner_id, logged_by=actor.label,
                   channel=data["channel"], summary=data["summary"], at=when)
    uow.session.add(act)
    uow.session.flush()
    return act


# --- orders ------------------------------------------------------------------------------------
def _lines(lines):
    return [OrderLine(product=ln["product"], quantity=ln["quantity"],
                      unit_price=domain.money(ln["unit_price"]),
                      amount=domain.line_amount(ln["quantity"], ln["unit_price"]))
            for ln in lines]


def _refresh_status(order):
    order.status = domain.order_status(order.cancelled_at is not None, bool(order.shipments),
                                       order.amount, order.paid_total)


def create_order(uow, actor, data, when, opp=None):
    requested = data.pop("owner_id", None)
    owner = owner_for(actor, requested, "orders")
    if opp is not None:
        if opp.customer_id != data["customer_id"]:
            raise validation_error({"opportunity_id": "belongs to another customer"})
        if opp.stage == "lost":
            raise Conflict("the opportunity is lost: no order can be placed on it")
        if actor.is_manager and not requested:  # the order follows its opportunity
            owner = opp.owner_id or owner
    lines = data.pop("lines")
    order = Order(**data, owner_id=owner, amount=domain.order_amount(lines),
                  paid_total=domain.money(0), status="placed", placed_at=when, updated_at=when,
                  campaign_id=opp.campaign_id if opp is not None else None)
    order.lines = _lines(lines)
    uow.session.add(order)
    uow.session.flush()
    uow.emit("order_placed", repo.order_event(
        order, delivery_date=order.delivery_date.isoformat() if order.delivery_date else None,
        lines=len(order.lines)), when)
    return order


def _order_snapshot(order):
    return {"amount": str(domain.money(order.amount)),
            "delivery_date": order.delivery_date.isoformat() if order.delivery_date else None,
            "lines": [{"product": ln.product, "quantity": domain.plain_quantity(ln.quantity),
                       "unit_price": str(domain.money(ln.unit_price))} for ln in order.lines]}


def change_order(uow, actor, order, changes, when):
    new_amount = domain.order_amount(changes["lines"]) if "lines" in changes else None
    problem = domain.change_problem(order.cancelled_at is not None, bool(order.shipments),
                                    new_amount, order.paid_total, "lines" in changes)
    if problem:
        field, message = problem
        if field == "_order" or field == "lines" and bool(order.shipments):
            raise Conflict(message, {field: [message]})
        raise validation_error({field: message})
    before = _order_snapshot(order)
    previous_amount = order.amount
    if "lines" in changes:
        order.lines = _lines(changes["lines"])
        order.amount = new_amount
    if "delivery_date" in changes:
        order.delivery_date = changes["delivery_date"]
    uow.session.flush()
    after = _order_snapshot(order)
    changed = [k for k in ("lines", "amount", "delivery_date") if before[k] != after[k]]
    if not changed:
        return order
    _refresh_status(order)
    order.updated_at = when
    order.changes.append(OrderChange(at=when, changed_by=actor.label,
                                     before={k: before[k] for k in changed},
                                     after={k: after[k] for k in changed}))
    uow.session.flush()
    uow.emit("order_changed", repo.order_event(
        order, previous_amount=str(domain.money(previous_amount)), changed_fields=changed,
        delivery_date=order.delivery_date.isoformat() if order.delivery_date else None), when)
    return order


def ship_order(uow, actor, order, shipped_at, when):
    if order.cancelled_at is not None:
        raise Conflict("a cancelled order cannot ship")
    if order.shipments:
        raise Conflict("the order has already shipped")
    shipment = Shipment(shipped_at=shipped_at or when, recorded_by=actor.label)
    order.shipments.append(shipment)
    _refresh_status(order)
    order.updated_at = when
    uow.session.flush()
    uow.emit("order_shipped", repo.order_event(
        order, shipment_id=shipment.id, shipped_at=shipment.shipped_at.isoformat()), when)
    return order


def record_payment(uow, actor, order, amount, when):
    if order.cancelled_at is not None:
        raise Conflict("a cancelled order takes no payments")
    problem = domain.payment_problem(amount, order.amount, order.paid_total)
    if problem:
        raise validation_error({"amount": problem})
    payment = Payment(amount=domain.money(amount), paid_at=when, recorded_by=actor.label)
    order.payments.append(payment)
    order.paid_total = domain.money(order.paid_total) + domain.money(amount)
    _refresh_status(order)
    order.updated_at = when
    uow.session.flush()
    outstanding = domain.money(order.amount) - domain.money(order.paid_total)
    uow.emit("payment_received", repo.order_event(
        order, payment_id=payment.id, amount=str(domain.money(amount)),
        order_amount=str(domain.money(order.amount)), outstanding=str(outstanding)), when)
    return order


def cancel_order(uow, actor, order, reason, when):
    problem = domain.cancel_problem(order.cancelled_at is not None, bool(order.shipments),
                                    order.paid_total)
    if problem:
        raise Conflict(problem)
    order.cancelled_at, order.cancel_reason, order.updated_at = when, reason, when
    _refresh_status(order)
    uow.session.flush()
    uow.emit("order_cancelled", repo.order_event(order, reason=reason), when)
    return order
