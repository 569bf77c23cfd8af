"""reporting's own tables: the event log, entity fact rows and per-month aggregates.

Read models are *commutative*: every fact row is the fold of all the events of
one entity, sorted by ``occurred_at`` (see ``domain.fold``), so the final rows
do not depend on delivery order. Aggregates (``kpi_month``) hold, per owner and
month (cut in CRM_TIMEZONE), the sum of every entity's contribution; when an
entity's events change its contribution is retracted and re-added.

Aggregate values are integers in 1/10000 units (``domain.SCALE``): exact sums on
SQLite and PostgreSQL, so replay gives bit-identical KPIs.
"""
import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, Index, Integer, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.common.models import BigIntId, UTCDateTime, declare_base, utcnow

Base = declare_base()

Ref = String(64)  # ids of other services: int or str on the wire, stored as text


def _open_index(name, due, settled):
    """Partial index on the due time of items not settled yet (few rows): the
    'not yet due' look-ups of get_kpis stay small whatever the history."""
    cond = text(f"{settled} IS NULL")
    return Index(name, due, postgresql_where=cond, sqlite_where=cond)


class EventLog(Base):
    """Every envelope reporting applied; ``rebuild()`` replays it."""

    __tablename__ = "event_log"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    source: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    envelope: Mapped[dict] = mapped_column(JSON)
    entity_kind: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(128))
    applied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lag_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    __table_args__ = (Index("ix_event_log_entity", "entity_kind", "entity_id"),)


class KpiMonth(Base):
    """Sum of contributions per (owner, month, metric); owner '*' = company."""

    __tablename__ = "kpi_month"
    owner: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)  # YYYYMM, CRM_TIMEZONE
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)  # × domain.SCALE
    # department scopes and prefix snapshots read a few metrics of many owners
    __table_args__ = (Index("ix_kpi_month_metric", "metric", "owner", "month", "value"),)


class CustomerFact(Base):
    __tablename__ = "rpt_customers"
    customer_id: Mapped[str] = mapped_column(Ref, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    owner_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    type: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    tier: Mapped[str | None] = mapped_column(String(16), nullable=True)
    industry_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    region: Mapped[str | None] = mapped_column(String(64), nullable=True)
    filled: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lost_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # churn signals, recomputed from the other fact tables on their events
    last_order_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    complaint2_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    latest_csat: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lost_opp_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ClosedSpan(Base):
    """A stretch of time a customer was ``closed`` under one owner; churn numerator."""

    __tablename__ = "rpt_closed_spans"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(Ref, index=True)
    owner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    start_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lost_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)


class LeadFact(Base):
    __tablename__ = "rpt_leads"
    lead_id: Mapped[str] = mapped_column(Ref, primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    converted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    disqualified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    opportunity_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    customer_id: Mapped[str | None] = mapped_column(Ref, nullable=True, index=True)
    campaign_id: Mapped[str | None] = mapped_column(Ref, nullable=True, index=True)
    source: Mapped[str | None] = mapped_column(String(16), nullable=True)


class OpportunityFact(Base):
    __tablename__ = "rpt_opportunities"
    opportunity_id: Mapped[str] = mapped_column(Ref, primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(Ref, nullable=True, index=True)
    owner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lead_id: Mapped[str | None] = mapped_column(Ref, nullable=True, index=True)
    campaign_id: Mapped[str | None] = mapped_column(Ref, nullable=True, index=True)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    stage: Mapped[str | None] = mapped_column(String(16), nullable=True)
    expected_close_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open|won|lost
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OrderFact(Base):
    __tablename__ = "rpt_orders"
    order_id: Mapped[str] = mapped_column(Ref, primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    owner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    opportunity_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    campaign_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    placed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    __table_args__ = (Index("ix_rpt_orders_customer", "customer_id", "placed_at"),)


class FollowUpFact(Base):
    __tablename__ = "rpt_follow_ups"
    follow_up_id: Mapped[str] = mapped_column(Ref, primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    __table_args__ = (_open_index("ix_rpt_follow_ups_open", "due_at", "completed_at"),)


class TicketFact(Base):
    __tablename__ = "rpt_tickets"
    ticket_id: Mapped[str] = mapped_column(Ref, primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    assignee_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    first_response_due_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), nullable=True)
    resolution_due_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), nullable=True)
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    __table_args__ = (Index("ix_rpt_tickets_customer", "customer_id", "kind", "opened_at"),
                      _open_index("ix_rpt_tickets_unresolved", "resolution_due_at",
                                  "resolved_at"),
                      _open_index("ix_rpt_tickets_unanswered", "first_response_due_at",
                                  "responded_at"))


class SurveyFact(Base):
    __tablename__ = "rpt_surveys"
    survey_id: Mapped[str] = mapped_column(Ref, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(Ref, index=True)
    customer_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    score: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    __table_args__ = (Index("ix_rpt_surveys_customer", "customer_id", "answered_at"),)


class CampaignFact(Base):
    __tablename__ = "rpt_campaigns"
    campaign_id: Mapped[str] = mapped_column(Ref, primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    theme: Mapped[str | None] = mapped_column(String(200), nullable=True)
    format: Mapped[str | None] = mapped_column(String(16), nullable=True)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    launched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True,
                                                            index=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ParticipantFact(Base):
    __tablename__ = "rpt_participants"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)  # campaign:participant
    campaign_id: Mapped[str] = mapped_column(Ref, index=True)
    participant_id: Mapped[str] = mapped_column(Ref)
    customer_id: Mapped[str | None] = mapped_column(Ref, nullable=True, index=True)
    registered: Mapped[bool] = mapped_column(Boolean, default=False)
    feedback_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    leads_generated: Mapped[int] = mapped_column(Integer, default=0)


class Staff(Base):
    """Who belongs to which department: seen in events, or set by a manager."""

    __tablename__ = "rpt_staff"
    employee_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen: Mapped[int] = mapped_column(Integer, default=0)  # bit flags, domain.DEPT_BITS
    manual_department: Mapped[str | None] = mapped_column(String(16), nullable=True)
    department: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)


class ScorecardTarget(Base):
    """Target and weight of one scorecard KPI; employee_id '*' = everyone's default."""

    __tablename__ = "rpt_scorecard_targets"
    employee_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)  # sales|service
    kpi: Mapped[str] = mapped_column(String(40), primary_key=True)
    target: Mapped[Decimal] = mapped_column(Numeric(16, 4))
    weight: Mapped[Decimal] = mapped_column(Numeric(8, 4))
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CustomerMerge(Base):
    """A merged customer → the kept one (from the merged customer's fold): facts of
    other entities that name a merged customer are written with the kept id."""

    __tablename__ = "rpt_customer_merges"
    merge_id: Mapped[str] = mapped_column(Ref, primary_key=True)
    keep_id: Mapped[str] = mapped_column(Ref, index=True)


READ_MODELS = (KpiMonth, CustomerFact, ClosedSpan, LeadFact, OpportunityFact, OrderFact,
               FollowUpFact, TicketFact, SurveyFact, CampaignFact, ParticipantFact,
               CustomerMerge)


class AuditCheckpoint(Base):
    """A service's audit chain head as it published it, signed with its audit key
    (``audit_checkpoint``): kept here, outside the database it protects."""

    __tablename__ = "rpt_audit_checkpoints"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    __table_args__ = (Index("ix_rpt_audit_checkpoints_service_seq", "service", "seq"),)
