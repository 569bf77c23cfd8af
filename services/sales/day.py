"""Read models of the workspace's landing page ("My day"), the header's follow-up count
and the pipeline board's column totals: a few indexed queries, run in a read-only unit
of work by the service."""
import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from services.common import paging
from services.sales import domain
from services.sales.models import FollowUp, Lead, Opportunity, Order

OPEN_ORDER = ("placed", "partially_paid", "paid", "shipped")
LIST_LIMIT = 50


def _mine(stmt, model, owner):
    return stmt.where(model.owner_id == owner) if owner is not None else stmt


def follow_up_counts(session, owner, now, end_of_day):
    """{overdue, due_today}: open follow-ups past due, and due later today."""
    base = _mine(select(func.count(FollowUp.id)).where(FollowUp.status == "open"),
                 FollowUp, owner)
    overdue = session.scalar(base.where(FollowUp.due_at < now)) or 0
    today = session.scalar(base.where(FollowUp.due_at >= now,
                                      FollowUp.due_at < end_of_day)) or 0
    return {"overdue": overdue, "due_today": today}


def due_follow_ups(session, owner, end_of_day):
    """Open follow-ups due before the end of today (overdue first), with the
    opportunity's name."""
    stmt = _mine(select(FollowUp, Opportunity.name).join(
        Opportunity, Opportunity.id == FollowUp.opportunity_id).where(
        FollowUp.status == "open", FollowUp.due_at < end_of_day), FollowUp, owner)
    return session.execute(stmt.order_by(FollowUp.due_at).limit(LIST_LIMIT)).all()


def new_leads(session, owner, since):
    """My open leads assigned to me since ``since`` (newest first)."""
    stmt = select(Lead).where(Lead.owner_id == owner, Lead.status == "following_up",
                              Lead.assigned_at >= since)
    return session.scalars(stmt.order_by(Lead.assigned_at.desc()).limit(LIST_LIMIT)).all()


def unassigned_leads(session):
    stmt = select(Lead).where(Lead.status == "new", Lead.owner_id.is_(None))
    total = session.scalar(select(func.count(Lead.id)).where(
        Lead.status == "new", Lead.owner_id.is_(None))) or 0
    return session.scalars(stmt.order_by(Lead.id.desc()).limit(LIST_LIMIT)).all(), total


def past_close(session, owner, today):
    """Open opportunities whose expected close date has passed."""
    stmt = _mine(select(Opportunity).where(Opportunity.stage.in_(domain.STAGES),
                                           Opportunity.expected_close_date < today),
                 Opportunity, owner)
    return session.scalars(stmt.order_by(Opportunity.expected_close_date)
                           .limit(LIST_LIMIT)).all()


def waiting_orders(session, owner):
    """Orders waiting for shipment or payment (not completed, not cancelled)."""
    stmt = _mine(select(Order).where(Order.status.in_(OPEN_ORDER)), Order, owner)
    return session.scalars(stmt.order_by(Order.placed_at).limit(LIST_LIMIT)).all()


def stage_totals(session, owner):
    """{stage: {count, amount, weighted_amount}} over every stage (board column totals)."""
    stmt = _mine(select(Opportunity.stage, func.count(Opportunity.id),
                        func.coalesce(func.sum(Opportunity.amount), 0))
                 .group_by(Opportunity.stage), Opportunity, owner)
    out = {s: {"count": 0, "amount": domain.money(0), "weighted_amount": domain.money(0)}
           for s in domain.STAGES + domain.CLOSED_STAGES}
    for stage, n, amount in session.execute(stmt):
        amount = domain.money(amount)
        out[stage] = {"count": n, "amount": amount,
                      "weighted_amount": domain.money(amount * domain.PROBABILITY[stage])}
    return out


def end_of_local_day(now, tz_name):
    local = domain.local_date(now, tz_name)
    nxt = dt.datetime.combine(local + dt.timedelta(days=1), dt.time(), ZoneInfo(tz_name))
    return local, nxt.astimezone(dt.UTC)


CARD_COLUMNS = (Opportunity.id, Opportunity.name, Opportunity.amount, Opportunity.stage,
                Opportunity.expected_close_date, Opportunity.owner_id,
                Opportunity.customer_id)


def board_column(session, stage, owner, page_no, page_size, cursor=None):
    """One board column: the cards (plain columns, no competitors or history) of
    ``stage`` in id order → (cards, next_cursor, total, total_is_estimate). With
    ``cursor`` (a column's next_cursor, for this stage and owner only) the cards after
    it, else page ``page_no`` (OFFSET). A page reads ``ix_opportunities_stage_id`` /
    ``_owner_stage_id`` from the cursor on; the total counts up to 1,000 of them
    (services.common.paging)."""
    where = [Opportunity.stage == stage]
    if owner is not None:
        where.append(Opportunity.owner_id == owner)
    rows, nxt, total, est = paging.page_keyset(
        session, select(*CARD_COLUMNS).where(*where), (Opportunity.id,), False,
        {"board_column": stage, "owner": owner}, cursor, page_no, page_size)
    cards = [{"id": r.id, "name": r.name, "amount": str(domain.money(r.amount)),
              "weighted_amount": str(domain.money(r.amount * domain.PROBABILITY[r.stage])),
              "stage": r.stage, "owner_id": r.owner_id, "customer_id": r.customer_id,
              "expected_close_date": r.expected_close_date.isoformat()
              if r.expected_close_date else None} for r in rows]
    return cards, nxt, total, est
