"""service_desk's own tables (plus the kit's outbox and inbox)."""
import datetime as dt

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.common.mail_outbox import declare_mail_outbox
from services.common.models import BigIntId, UTCDateTime, declare_base, utcnow

Base = declare_base()
MailOutbox = declare_mail_outbox(Base)  # survey links mailed to customers


class Agent(Base):
    """The service team roster used for automatic assignment (managers edit it)."""

    __tablename__ = "agents"
    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(64))
    categories: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Ticket(Base):
    __tablename__ = "tickets"
    __audit__ = "ticket"  # services.common.audit
    __audit_pii__ = {"complainant_name": "name", "complainant_contact": "contact"}
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    severity: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    complainant_name: Mapped[str] = mapped_column(String(64))
    complainant_contact: Mapped[str | None] = mapped_column(String(254))
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    assignee_id: Mapped[str | None] = mapped_column(String(64), index=True)
    opened_by: Mapped[str] = mapped_column(String(64), index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    first_response_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    resolution_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # the running clock's due time (first response, then resolution); None once resolved
    next_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    first_responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    first_response_breached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolution_breached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    root_cause: Mapped[str | None] = mapped_column(String(32))
    resolution: Mapped[str | None] = mapped_column(Text)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    entries: Mapped[list["TicketEntry"]] = relationship(
        cascade="all, delete-orphan", order_by="TicketEntry.id", lazy="selectin")

    __mapper_args__ = {"version_id_col": version}


Index("ix_tickets_open_due", Ticket.status, Ticket.resolution_due_at)


class TicketEntry(Base):
    """The ticket's timeline: responses, progress, coordination, assignments,
    resolution, close and reopen, each with who and when."""

    __tablename__ = "ticket_entries"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    kind: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    text: Mapped[str | None] = mapped_column(Text)
    notify_customer: Mapped[bool] = mapped_column(default=False)
    department: Mapped[str | None] = mapped_column(String(32))
    from_assignee: Mapped[str | None] = mapped_column(String(64))
    to_assignee: Mapped[str | None] = mapped_column(String(64))


class Survey(Base):
    __tablename__ = "surveys"
    __audit__ = "survey"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           unique=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class SurveyLink(Base):
    """A survey link sent to the customer: the signed token's nonce, used once."""

    __tablename__ = "survey_links"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ImprovementAction(Base):
    """An improvement proposed after analysing a root cause (policy 003 §四(三)5)."""

    __tablename__ = "improvement_actions"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    root_cause: Mapped[str] = mapped_column(String(32), index=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


Index("ix_tickets_queue", Ticket.assignee_id, Ticket.next_due_at)
Index("ix_tickets_next_due", Ticket.next_due_at)
Index("ix_tickets_complaint_resolved", Ticket.kind, Ticket.resolved_at)


class CustomerCopy(Base):
    """What service_desk keeps of a customer (fed by customers events / RPC)."""

    __tablename__ = "customer_copies"
    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[str | None] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(16), default="normal")
    birthdays: Mapped[list] = mapped_column(JSON, default=list)  # [[name, "YYYY-MM-DD"]]
    contact_masked: Mapped[str | None] = mapped_column(String(120))  # "张三 138****8000"
    contacts_synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CarePlan(Base):
    __tablename__ = "care_plans"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(Integer)  # ix_care_plans_customer_id_id
    kind: Mapped[str] = mapped_column(String(16))
    assignee_id: Mapped[str | None] = mapped_column(String(64))  # ix_care_plans_assignee_id_id
    start_date: Mapped[dt.date] = mapped_column(Date)
    expiry_date: Mapped[dt.date | None] = mapped_column(Date)
    interval_days: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    auto: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CareTask(Base):
    """One occasion of a care plan (materialised when it falls due)."""

    __tablename__ = "care_tasks"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id", ondelete="CASCADE"),
                                         index=True)
    customer_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    occasion: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[dt.date] = mapped_column(Date, index=True)
    assignee_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="due")
    channel: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    __table_args__ = (UniqueConstraint("plan_id", "occasion", name="uq_care_task_occasion"),)


class Faq(Base):
    __tablename__ = "faqs"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    question: Mapped[str] = mapped_column(String(300))
    answer: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))  # ix_faqs_category_id
    keywords: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # ix_faqs_status_id
    hits: Mapped[int] = mapped_column(Integer, default=0)
    author_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


# keyset lists (issue 20): an equality filter's rows in id order (migration 0004; 0006
# dropped the single-column indexes these made redundant)
Index("ix_care_plans_assignee_id_id", CarePlan.assignee_id, CarePlan.id)
Index("ix_care_plans_customer_id_id", CarePlan.customer_id, CarePlan.id)
Index("ix_faqs_status_id", Faq.status, Faq.id)
Index("ix_faqs_category_id", Faq.category, Faq.id)
