"""marketing's own tables (plus the kit's outbox and inbox).

Contact data of participants who are not (yet) customers lives here and only
here: it is never copied into events, logs or metric labels.
"""
import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
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

from services.common.models import BigIntId, UTCDateTime, declare_base, utcnow

Base = declare_base()


class Campaign(Base):
    __tablename__ = "campaigns"
    __audit__ = "campaign"  # services.common.audit
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    theme: Mapped[str] = mapped_column(String(200))
    goal: Mapped[str | None] = mapped_column(Text)
    audience_filter: Mapped[dict] = mapped_column(JSON, default=dict)
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    location: Mapped[str | None] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(16))  # ix_campaigns_format_id
    owner_id: Mapped[str] = mapped_column(String(64))  # ix_campaigns_owner_id_id
    budget: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    cost: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0.00"))
    state: Mapped[str] = mapped_column(String(16), default="draft")  # ix_campaigns_state_id
    audience_size: Mapped[int | None] = mapped_column(Integer)
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    launched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    milestones: Mapped[list["Milestone"]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", order_by="Milestone.id",
        lazy="selectin")

    __mapper_args__ = {"version_id_col": version}


class Milestone(Base):
    """A task node of the plan: owner, due date, done or overdue."""

    __tablename__ = "campaign_milestones"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"),
                                             index=True)
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str] = mapped_column(String(64))
    due_date: Mapped[dt.date] = mapped_column(Date)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    completed_by: Mapped[str | None] = mapped_column(String(64))
    campaign: Mapped[Campaign] = relationship(back_populates="milestones")


class AudienceMember(Base):
    """The audience resolved at launch (a snapshot: later customer changes don't move it)."""

    __tablename__ = "campaign_audience"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # looked up and paged (by customer_id) through uq_audience_member
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[str | None] = mapped_column(String(16))
    tier: Mapped[str | None] = mapped_column(String(16))
    region: Mapped[str | None] = mapped_column(String(64))
    industry_code: Mapped[str | None] = mapped_column(String(8))
    tags: Mapped[list] = mapped_column(JSON, default=list)
    __table_args__ = (UniqueConstraint("campaign_id", "customer_id", name="uq_audience_member"),)


class Participant(Base):
    __tablename__ = "campaign_participants"
    __audit__ = "participant"
    __audit_pii__ = {"contact_name": "name", "mobile": "mobile", "email": "email"}
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # ix_campaign_participants_campaign_id_id
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # customer | contact
    contact_name: Mapped[str | None] = mapped_column(String(64))
    company: Mapped[str | None] = mapped_column(String(200))
    mobile: Mapped[str | None] = mapped_column(String(11))
    email: Mapped[str | None] = mapped_column(String(254))
    region: Mapped[str | None] = mapped_column(String(64))
    industry_code: Mapped[str | None] = mapped_column(String(8))
    tier: Mapped[str | None] = mapped_column(String(16))
    segment: Mapped[str] = mapped_column(String(32))
    need: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    registered_by: Mapped[str | None] = mapped_column(String(64))
    attended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    lead_generated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    lead_event_id: Mapped[str | None] = mapped_column(String(36))
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id", name="uq_participant_customer"),
        UniqueConstraint("campaign_id", "mobile", name="uq_participant_mobile"),
    )


class Feedback(Base):
    __tablename__ = "campaign_feedback"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(Integer, index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_participants.id", ondelete="CASCADE"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MessageTemplate(Base):
    """Per-segment outreach text (coupon/offer) for one channel."""

    __tablename__ = "campaign_templates"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"),
                                             index=True)
    segment: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    offer: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    __table_args__ = (UniqueConstraint("campaign_id", "segment", "channel",
                                       name="uq_template_segment_channel"),)


class OutreachMessage(Base):
    """What was sent to whom by which channel (the recipient address is kept masked)."""

    __tablename__ = "campaign_outreach"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(Integer)  # ix_campaign_outreach_campaign_id_id
    participant_id: Mapped[int] = mapped_column(Integer, index=True)
    customer_id: Mapped[int | None] = mapped_column(Integer)
    template_id: Mapped[int] = mapped_column(Integer)
    segment: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    recipient_masked: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    adapter: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    external_ref: Mapped[str | None] = mapped_column(String(128))
    sent_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    __table_args__ = (UniqueConstraint("campaign_id", "participant_id", "channel",
                                       name="uq_outreach_once_per_channel"),)


# --- marketing's own view of sales, fed by events (never by reading sales' DB) -----
class SalesLead(Base):
    __tablename__ = "sales_leads"
    lead_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str | None] = mapped_column(String(64), index=True)
    participant_id: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    converted: Mapped[bool] = mapped_column(default=False)
    converted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    opportunity_id: Mapped[str | None] = mapped_column(String(64))


class SalesOpportunity(Base):
    __tablename__ = "sales_opportunities"
    opportunity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lead_id: Mapped[str | None] = mapped_column(String(64), index=True)
    campaign_id: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    won: Mapped[bool] = mapped_column(default=False)
    won_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SalesOrder(Base):
    __tablename__ = "sales_orders"
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    opportunity_id: Mapped[str | None] = mapped_column(String(64), index=True)
    campaign_id: Mapped[str | None] = mapped_column(String(64), index=True)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    amount_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    placed: Mapped[bool] = mapped_column(default=False)
    placed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled: Mapped[bool] = mapped_column(default=False)


Index("ix_campaigns_owner_state", Campaign.owner_id, Campaign.state)
# keyset lists (issue 20): an equality filter's rows in id order, newest first read
# backwards (migration 0003)
Index("ix_campaigns_owner_id_id", Campaign.owner_id, Campaign.id)
Index("ix_campaigns_state_id", Campaign.state, Campaign.id)
Index("ix_campaigns_format_id", Campaign.format, Campaign.id)
Index("ix_campaign_participants_campaign_id_id", Participant.campaign_id, Participant.id)
# a campaign's outreach log in id order (migration 0004, which dropped the single-column
# indexes the (column, id) ones made redundant)
Index("ix_campaign_outreach_campaign_id_id", OutreachMessage.campaign_id, OutreachMessage.id)
