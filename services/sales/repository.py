"""sales' persistence: lookups with object-level access, list queries, output
and event payload builders. Everything runs inside the caller's unit of work."""
import datetime as dt

from sqlalchemy import func, or_, select

from services.common.errors import NotFound
from services.common.identifiers import mask_email, mask_mobile
from services.sales import domain
from services.sales.models import Activity, AssignmentRule, FollowUp, Lead, Opportunity, Order
from services.sales.schemas import wire_id


def _now():
    return dt.datetime.now(dt.UTC)


def _get(session, model, obj_id, actor, what, for_update=False):
    if isinstance(obj_id, bool) or not isinstance(obj_id, int):
        try:
            obj_id = int(obj_id)
        except (TypeError, ValueError):
            raise NotFound(f"{what} not found") from None
    stmt = select(model).where(model.id == obj_id)
    if for_update and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    obj = session.scalar(stmt)
    if obj is None or not actor.can_see(obj.owner_id):
        raise NotFound(f"{what} {obj_id} not found")
    return obj


def get_lead(session, lead_id, actor, for_update=False):
    return _get(session, Lead, lead_id, actor, "lead", for_update)


def get_opportunity(session, opportunity_id, actor, for_update=False):
    return _get(session, Opportunity, opportunity_id, actor, "opportunity", for_update)


def get_follow_up(session, follow_up_id, actor, for_update=False):
    return _get(session, FollowUp, follow_up_id, actor, "follow-up", for_update)


def get_order(session, order_id, actor, for_update=False):
    return _get(session, Order, order_id, actor, "order", for_update)


# --- assignment rules -------------------------------------------------------------
def load_rules(session, for_update=False):
    stmt = select(AssignmentRule).order_by(AssignmentRule.position)
    if for_update and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalars(stmt).all()


def rules_output(rows):
    return {"rules": [dict(r.spec, kind=r.kind, position=r.position, cursor=r.cursor)
                      for r in rows]}


def lead_facts(lead):
    """What assignment rules look at."""
    return {"region": lead.region, "industry_code": lead.industry_code,
            "customer_id": lead.customer_id, "customer_name": lead.customer_name,
            "source": lead.source, "campaign_id": lead.campaign_id}


# --- output -----------------------------------------------------------------------
def lead_output(lead, actor):
    out = {c: getattr(lead, c) for c in (
        "id", "source", "status", "customer_id", "customer_name", "contact_name",
        "contact_mobile", "contact_email", "need", "region", "industry_code", "campaign_id",
        "participant_id", "owner_id", "assignment_rule", "assigned_at", "disqualify_reason",
        "opportunity_id", "closed_at", "created_at", "updated_at")}
    if not (actor.is_system or actor.id == lead.owner_id):
        out["contact_mobile"] = mask_mobile(out["contact_mobile"]) if out["contact_mobile"] \
            else None
        out["contact_email"] = mask_email(out["contact_email"]) if out["contact_email"] \
            else None
    return out


def history_rows(opp, now=None):
    now = now or _now()
    rows = []
    for h in opp.history:
        end = h.left_at or (now if h.stage in domain.STAGES else h.entered_at)
        rows.append({"stage": h.stage, "entered_at": h.entered_at, "left_at": h.left_at,
                     "seconds": h.seconds if h.seconds is not None
                     else domain.seconds_between(h.entered_at, end),
                     "changed_by": h.changed_by})
    return rows


def opportunity_output(opp, now=None):
    now = now or _now()
    history = history_rows(opp, now)
    out = {c: getattr(opp, c) for c in (
        "id", "name", "customer_id", "lead_id", "campaign_id", "owner_id", "amount",
        "expected_close_date", "background", "needs", "stage", "lost_reason",
        "stage_entered_at", "closed_at", "created_at", "updated_at")}
    out["probability"] = domain.probability(opp.stage)
    out["weighted_amount"] = domain.money(opp.amount * domain.PROBABILITY[opp.stage])
    out["competitors"] = [{"id": c.id, "name": c.name, "strengths": c.strengths,
                           "price_position": c.price_position} for c in opp.competitors]
    out["stage_history"] = history
    out["time_in_stage"] = domain.time_in_stages(history, now)
    return out


def follow_up_output(fu, now=None):
    now = now or _now()
    out = {c: getattr(fu, c) for c in (
        "id", "opportunity_id", "owner_id", "due_at", "note", "status", "outcome",
        "completed_at", "created_at")}
    out["overdue"] = domain.is_overdue(fu.status, fu.due_at, now)
    out["on_time"] = domain.on_time(fu.due_at, fu.completed_at) if fu.completed_at else None
    return out


def activity_output(a):
    return {c: getattr(a, c) for c in ("id", "opportunity_id", "owner_id", "logged_by",
                                       "channel", "summary", "at")}


def order_output(order):
    out = {c: getattr(order, c) for c in (
        "id", "customer_id", "opportunity_id", "campaign_id", "owner_id", "amount",
        "paid_total", "delivery_date", "status", "cancel_reason", "cancelled_at", "placed_at",
        "updated_at")}
    out["outstanding"] = domain.money(order.amount) - domain.money(order.paid_total)
    out["payment_status"] = domain.payment_status(order.amount, order.paid_total)
    out["shipped"] = bool(order.shipments)
    out["lines"] = [{"id": ln.id, "product": ln.product,
                     "quantity": domain.plain_quantity(ln.quantity),
                     "unit_price": ln.unit_price, "amount": ln.amount} for ln in order.lines]
    out["shipments"] = [{"id": s.id, "shipped_at": s.shipped_at, "recorded_by": s.recorded_by}
                        for s in order.shipments]
    out["payments"] = [{"id": p.id, "amount": p.amount, "paid_at": p.paid_at,
                        "recorded_by": p.recorded_by} for p in order.payments]
    out["changes"] = [{"id": c.id, "at": c.at, "changed_by": c.changed_by, "before": c.before,
                       "after": c.after} for c in order.changes]
    return out


# --- event payloads (no contact data, ever) -------------------------------------------
def lead_event(lead, **extra):
    data = {"lead_id": lead.id, "owner_id": lead.owner_id, "source": lead.source,
            "status": lead.status, "customer_id": lead.customer_id,
            "campaign_id": wire_id(lead.campaign_id),
            "participant_id": wire_id(lead.participant_id), "region": lead.region,
            "industry_code": lead.industry_code,
            "created_at": lead.created_at.isoformat() if lead.created_at else None}
    data.update(extra)
    return data


def opportunity_event(opp, **extra):
    data = {"opportunity_id": opp.id, "customer_id": opp.customer_id, "owner_id": opp.owner_id,
            "amount": str(domain.money(opp.amount)), "stage": opp.stage,
            "probability": domain.probability(opp.stage),
            "expected_close_date": opp.expected_close_date.isoformat()
            if opp.expected_close_date else None,
            "lead_id": opp.lead_id, "campaign_id": wire_id(opp.campaign_id)}
    data.update(extra)
    return data


def follow_up_event(fu, **extra):
    data = {"follow_up_id": fu.id, "opportunity_id": fu.opportunity_id, "owner_id": fu.owner_id,
            "due_at": fu.due_at.isoformat()}
    data.update(extra)
    return data


def order_event(order, **extra):
    data = {"order_id": order.id, "customer_id": order.customer_id, "owner_id": order.owner_id,
            "amount": str(domain.money(order.amount)), "opportunity_id": order.opportunity_id,
            "campaign_id": wire_id(order.campaign_id), "status": order.status,
            "paid_total": str(domain.money(order.paid_total))}
    data.update(extra)
    return data


# --- lists ---------------------------------------------------------------------------------
def _scoped(stmt, model, owner_scope, filters):
    if owner_scope is not None:
        stmt = stmt.where(model.owner_id == owner_scope)
    if filters.get("owner_id"):
        stmt = stmt.where(model.owner_id == filters["owner_id"])
    return stmt


def page(session, stmt, order_col, page_no, page_size):
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(order_col).offset((page_no - 1) * page_size)
                           .limit(page_size)).all()
    return rows, total


def leads_query(filters, owner_scope):
    stmt = _scoped(select(Lead), Lead, owner_scope, filters)
    for key in ("status", "source", "campaign_id", "customer_id"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Lead, key) == filters[key])
    if filters.get("unassigned") is True:
        stmt = stmt.where(Lead.owner_id.is_(None))
    elif filters.get("unassigned") is False:
        stmt = stmt.where(Lead.owner_id.is_not(None))
    if filters.get("region"):
        stmt = stmt.where(Lead.region == filters["region"].strip())
    if filters.get("industry_code"):
        # a code prefix as a range: the (industry_code, id) index serves it (as customers)
        code = filters["industry_code"].strip().upper()
        stmt = stmt.where(Lead.industry_code >= code, Lead.industry_code < code + "\x7f")
    if filters.get("q"):  # a substring: % and _ are plain characters (escaped)
        q = filters["q"]
        stmt = stmt.where(or_(*(col.contains(q, autoescape=True) for col in (
            Lead.customer_name, Lead.need, Lead.contact_name))))
    return stmt


def opportunities_query(filters, owner_scope):
    stmt = _scoped(select(Opportunity), Opportunity, owner_scope, filters)
    for key in ("stage", "customer_id", "campaign_id"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Opportunity, key) == filters[key])
    if filters.get("open") is True:
        stmt = stmt.where(Opportunity.stage.in_(domain.STAGES))
    elif filters.get("open") is False:
        stmt = stmt.where(Opportunity.stage.in_(domain.CLOSED_STAGES))
    return stmt


def follow_ups_query(filters, owner_scope, now):
    stmt = _scoped(select(FollowUp), FollowUp, owner_scope, filters)
    if filters.get("opportunity_id") is not None:
        stmt = stmt.where(FollowUp.opportunity_id == filters["opportunity_id"])
    if filters.get("status"):
        stmt = stmt.where(FollowUp.status == filters["status"])
    if filters.get("overdue") is True:
        stmt = stmt.where(FollowUp.status == "open", FollowUp.due_at < now)
    elif filters.get("overdue") is False:
        stmt = stmt.where(or_(FollowUp.status != "open", FollowUp.due_at >= now))
    return stmt


def activities_query(filters, owner_scope):
    stmt = _scoped(select(Activity), Activity, owner_scope, filters)
    for key in ("opportunity_id", "channel"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Activity, key) == filters[key])
    return stmt


def orders_query(filters, owner_scope):
    stmt = _scoped(select(Order), Order, owner_scope, filters)
    for key in ("status", "customer_id", "opportunity_id"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Order, key) == filters[key])
    return stmt


def overdue_count(session, now):
    return session.scalar(select(func.count(FollowUp.id)).where(
        FollowUp.status == "open", FollowUp.due_at < now)) or 0


def open_opportunities_closing(session, first, last, owner_scope):
    stmt = select(Opportunity).where(Opportunity.stage.in_(domain.STAGES),
                                     Opportunity.expected_close_date >= first,
                                     Opportunity.expected_close_date <= last)
    if owner_scope is not None:
        stmt = stmt.where(Opportunity.owner_id == owner_scope)
    return session.scalars(stmt).all()


def lead_for_participant(session, campaign_id, participant_id):
    return session.scalar(select(Lead).where(Lead.campaign_id == campaign_id,
                                             Lead.participant_id == participant_id))


def channel_cohort(session, start, end, owner_scope):
    """Leads created in [start, end) with their opportunity's outcome: the input of
    ``channels.analyse`` (one outer join, no ORM objects)."""
    stmt = (select(Lead.source, Lead.campaign_id, Lead.created_at, Lead.status,
                   Opportunity.stage, Opportunity.amount, Opportunity.closed_at)
            .outerjoin(Opportunity, Opportunity.id == Lead.opportunity_id)
            .where(Lead.created_at >= start, Lead.created_at < end))
    if owner_scope is not None:
        stmt = stmt.where(Lead.owner_id == owner_scope)
    return [{"source": r.source, "campaign_id": r.campaign_id, "created_at": r.created_at,
             "converted": r.status == "converted", "stage": r.stage, "amount": r.amount,
             "won_at": r.closed_at if r.stage == "won" else None}
            for r in session.execute(stmt)]


def campaign_leads_without_contact(session, since, limit):
    """(id, campaign_id, participant_id, customer_id) of recent campaign leads whose
    contact could not be fetched when they were made."""
    return session.execute(
        select(Lead.id, Lead.campaign_id, Lead.participant_id, Lead.customer_id).where(
            Lead.participant_id.is_not(None), Lead.contact_mobile.is_(None),
            Lead.contact_email.is_(None), Lead.created_at >= since)
        .order_by(Lead.id.desc()).limit(limit)).all()
