"""Tables every service has in its own database: outbox, inbox and the audit trail
(``services.common.audit``: audit_log, audit_head).

``declare_base()`` gives a service its own declarative Base that already holds
the two tables, so its alembic history creates them with the rest.
"""
import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow():
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on both engines (SQLite drops tzinfo: put UTC back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return as_utc(value)

    def process_result_value(self, value, dialect):
        return as_utc(value)


def as_utc(value):
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def declare_base():
    class Base(DeclarativeBase):
        pass

    class OutboxMessage(Base):
        """An event committed with the write that caused it; the relay publishes it."""

        __tablename__ = "outbox"
        id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
        event_id: Mapped[str] = mapped_column(String(36), unique=True)
        event_type: Mapped[str] = mapped_column(String(64))
        envelope: Mapped[dict] = mapped_column(JSON)
        created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
        sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
        attempts: Mapped[int] = mapped_column(Integer, default=0)
        __table_args__ = (Index("ix_outbox_unsent", "sent_at", "id"),)

    class InboxMessage(Base):
        """(event_id, handler) of every event applied, written with its effect."""

        __tablename__ = "inbox"
        id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
        event_id: Mapped[str] = mapped_column(String(36))
        handler: Mapped[str] = mapped_column(String(128))
        event_type: Mapped[str] = mapped_column(String(64))
        applied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
        __table_args__ = (UniqueConstraint("event_id", "handler", name="uq_inbox_event_handler"),)

    Base.Outbox = OutboxMessage
    Base.Inbox = InboxMessage
    from services.common.audit import declare_audit  # audit imports this module
    Base.Audit, Base.AuditHead = declare_audit(Base)
    return Base
