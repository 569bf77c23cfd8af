"""sales' own tables (plus the kit's outbox and inbox)."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.common.mail_outbox import declare_mail_outbox
from services.common.models import BigIntId, UTCDateTime, declare_base, utcnow

Base = declare_base()
MailOutbox = declare_mail_outbox(Base)  # mails written with the write that causes them


class Lead(Base):
    __tablename__ = "leads"
    __audit__ = "lead"  # services.common.audit
    __audit_pii__ = {"contact_name": "name", "contact_mobile": "mobile",
                     "contact_email": "email"}
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(16))  # ix_leads_source_id
    status: Mapped[str] = mapped_column(String(16))  # ix_leads_status_id
    customer_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(64))
    contact_mobile: Mapped[str | None] = mapped_column(String(11))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    need: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(String(64))
    industry_code: Mapped[str | None] = mapped_column(String(8))
    campaign_id: Mapped[str | None] = mapped_column(String(64), index=True)
    participant_id: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[str | None] = mapped_column(String(64))  # ix_leads_owner_id_id
    assignment_rule: Mapped[str | None] = mapped_column(String(16))
    assigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    disqualify_reason: Mapped[str | None] = mapped_column(Text)
    opportunity_id: Mapped[int | None] = mapped_column(BigInteger)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    __table_args__ = (
        # the same campaign participant makes one lead (NULLs stay distinct)
        UniqueConstraint("campaign_id", "participant_id", name="uq_lead_campaign_participant"),
    )


class AssignmentRule(Base):
    """One rule of the ordered rule list (set_assignment_rules replaces them all)."""

    __tablename__ = "assignment_rules"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict] = mapped_column(JSON)
    cursor: Mapped[int] = mapped_column(Integer, default=0)  # round-robin position
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Opportunity(Base):
    __tablename__ = "opportunities"
    __audit__ = "opportunity"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int] = mapped_column(BigInteger, index=True)
    lead_id: Mapped[int | None] = mapped_column(BigInteger)
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[str | None] = mapped_column(String(64))  # ix_opportunities_owner_id_id
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    # ix_opportunities_close_id
    expected_close_date: Mapped[dt.date | None] = mapped_column(Date)
    background: Mapped[str | None] = mapped_column(Text)
    needs: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(16))  # ix_opportunities_stage_id
    lost_reason: Mapped[str | None] = mapped_column(Text)
    stage_entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    competitors: Mapped[list["Competitor"]] = relationship(
        cascade="all, delete-orphan", order_by="Competitor.id", lazy="selectin")
    history: Mapped[list["StageHistory"]] = relationship(
        cascade="all, delete-orphan", order_by="StageHistory.id", lazy="selectin")


class Competitor(Base):
    __tablename__ = "competitors"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    strengths: Mapped[str | None] = mapped_column(Text)
    price_position: Mapped[str | None] = mapped_column(String(16))


class StageHistory(Base):
    __tablename__ = "stage_history"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    left_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    seconds: Mapped[int | None] = mapped_column(Integer)
    changed_by: Mapped[str] = mapped_column(String(64))


class FollowUp(Base):
    __tablename__ = "follow_ups"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # indexes: the (…, due_at, id) ones below the models (keyset order, migration 0007)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8))  # open | done
    outcome: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # when the owner's "falling due" mail was queued (services/sales/notify_follow_ups.py)
    notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class StaffEmail(Base):
    """Where a salesperson's notices go: set on the 通知设置 page (or by a manager)."""

    __tablename__ = "staff_emails"
    staff_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Activity(Base):
    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # ix_activities_opportunity_id_id, ix_activities_owner_id_id (migration 0007)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    logged_by: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Order(Base):
    __tablename__ = "orders"
    __audit__ = "order"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, index=True)
    opportunity_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[str | None] = mapped_column(String(64))  # ix_orders_owner_id_id
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    paid_total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    delivery_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # ix_orders_status_id
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lines: Mapped[list["OrderLine"]] = relationship(
        cascade="all, delete-orphan", order_by="OrderLine.id", lazy="selectin")
    shipments: Mapped[list["Shipment"]] = relationship(
        cascade="all, delete-orphan", order_by="Shipment.id", lazy="selectin")
    payments: Mapped[list["Payment"]] = relationship(
        cascade="all, delete-orphan", order_by="Payment.id", lazy="selectin")
    changes: Mapped[list["OrderChange"]] = relationship(
        cascade="all, delete-orphan", order_by="OrderChange.id", lazy="selectin")


class OrderLine(Base):
    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    product: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))


class Shipment(Base):
    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    shipped_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class Payment(Base):
    __tablename__ = "payments"
    __audit__ = "payment"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    paid_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class OrderChange(Base):
    """Before/after of every order change."""

    __tablename__ = "order_changes"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    changed_by: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)


Index("ix_opportunities_open_close", Opportunity.stage, Opportunity.expected_close_date)
# the workspace at 100k opportunities (bench W2): a staff member's board column and
# past-close list and column totals, the manager's totals as an index-only scan, My
# day's new leads
Index("ix_opportunities_owner_stage", Opportunity.owner_id, Opportunity.stage,
      Opportunity.expected_close_date, Opportunity.amount)
Index("ix_opportunities_stage_amount", Opportunity.stage, Opportunity.amount)
Index("ix_leads_owner_status_assigned", Lead.owner_id, Lead.status, Lead.assigned_at)
# keyset lists (issue 20): an equality filter's rows in id order, so a page and the
# capped count stop early (services.common.paging; migration 0004; 0006 dropped the
# single-column indexes these made redundant)
Index("ix_leads_status_id", Lead.status, Lead.id)
Index("ix_leads_source_id", Lead.source, Lead.id)
Index("ix_leads_owner_id_id", Lead.owner_id, Lead.id)
Index("ix_leads_owner_status_id", Lead.owner_id, Lead.status, Lead.id)
Index("ix_leads_region_id", Lead.region, Lead.id)
Index("ix_leads_industry_id", Lead.industry_code, Lead.id)
Index("ix_opportunities_owner_id_id", Opportunity.owner_id, Opportunity.id)
Index("ix_opportunities_stage_id", Opportunity.stage, Opportunity.id)
Index("ix_opportunities_owner_stage_id", Opportunity.owner_id, Opportunity.stage,
      Opportunity.id)
Index("ix_opportunities_close_id", Opportunity.expected_close_date, Opportunity.id)
Index("ix_orders_owner_id_id", Order.owner_id, Order.id)
Index("ix_orders_status_id", Order.status, Order.id)
Index("ix_orders_owner_status_id", Order.owner_id, Order.status, Order.id)
# follow-ups in (due_at, id) order and activities in id order, keyset-paged (issue 20,
# migration 0007): the list's filter, then its order, so a page and the header's counts
# are index range scans
Index("ix_follow_ups_due_id", FollowUp.due_at, FollowUp.id)
Index("ix_follow_ups_status_due_id", FollowUp.status, FollowUp.due_at, FollowUp.id)
Index("ix_follow_ups_owner_status_due_id", FollowUp.owner_id, FollowUp.status,
      FollowUp.due_at, FollowUp.id)
Index("ix_follow_ups_opportunity_due_id", FollowUp.opportunity_id, FollowUp.due_at,
      FollowUp.id)
Index("ix_activities_opportunity_id_id", Activity.opportunity_id, Activity.id)
Index("ix_activities_owner_id_id", Activity.owner_id, Activity.id)
