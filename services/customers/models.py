"""customers' own tables (plus the kit's outbox and inbox)."""
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

from services.common.models import BigIntId, UTCDateTime, declare_base, utcnow

Base = declare_base()


class Customer(Base):
    __tablename__ = "customers"
    __audit__ = "customer"  # services.common.audit
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    industry_code: Mapped[str] = mapped_column(String(8))
    region: Mapped[str | None] = mapped_column(String(64))
    scale: Mapped[str | None] = mapped_column(String(32))
    annual_budget: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    needs: Mapped[str | None] = mapped_column(Text)
    source_channel: Mapped[str | None] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(16), default="normal")
    influence: Mapped[int | None] = mapped_column(Integer)
    cooperation_since: Mapped[dt.date | None] = mapped_column(Date)
    lost_reason: Mapped[str | None] = mapped_column(String(32))
    lost_note: Mapped[str | None] = mapped_column(Text)
    lost_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    completeness: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # duplicate detection (services.customers.names): looked up through their indexes
    name_key: Mapped[str | None] = mapped_column(String(200), index=True)
    similar_key: Mapped[str | None] = mapped_column(String(200), index=True)
    # a merged customer stays as a tombstone pointing at the kept one
    merged_into_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    merged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    contacts: Mapped[list["Contact"]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Contact.id",
        lazy="selectin")
    tag_rows: Mapped[list["CustomerTag"]] = relationship(
        cascade="all, delete-orphan", order_by="CustomerTag.tag", lazy="selectin")

    __mapper_args__ = {"version_id_col": version}

    @property
    def tags(self):
        return sorted(t.tag for t in self.tag_rows)


class Contact(Base):
    __tablename__ = "contacts"
    __audit__ = "contact"
    __audit_pii__ = {"name": "name", "mobile": "mobile", "email": "email",
                     "birthday": "birthday"}
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(64))
    mobile: Mapped[str | None] = mapped_column(String(11), index=True)  # duplicate check
    email: Mapped[str | None] = mapped_column(String(254))
    birthday: Mapped[dt.date | None] = mapped_column(Date)
    preferred_channel: Mapped[str | None] = mapped_column(String(16))
    is_primary: Mapped[bool] = mapped_column(default=False)
    customer: Mapped[Customer] = relationship(back_populates="contacts")


Customer.__audit_children__ = {"contacts": Contact}  # set-based creates carry them


class CustomerTag(Base):
    __tablename__ = "customer_tags"
    __audit__ = "tag"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(32))
    __table_args__ = (UniqueConstraint("customer_id", "tag", name="uq_customer_tag"),
                      Index("ix_customer_tags_tag_customer", "tag", "customer_id"))


class Attachment(Base):
    __tablename__ = "attachments"
    __audit__ = "attachment"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(512))
    uploaded_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HistoryEntry(Base):
    """Append-only modification log, hash-chained per customer."""

    __tablename__ = "customer_history"
    __audit__ = "customer_history"  # anchors the log's chain (its tail too)
    __audit_columns__ = ("customer_id", "seq", "action", "hash")
    __audit_record_id__ = "customer_id"
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(Integer, index=True)
    seq: Mapped[int] = mapped_column(Integer)
    operator_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(32))
    changes: Mapped[list] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (UniqueConstraint("customer_id", "seq", name="uq_history_seq"),)


class OrderLedger(Base):
    """customers' own copy of sales orders, fed by events, for tiering."""

    __tablename__ = "order_ledger"
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[int] = mapped_column(Integer, index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    cancelled: Mapped[bool] = mapped_column(default=False)


class SearchDoc(Base):
    """The customer's searchable text, normalised (``services.customers.search``): the
    name alone (exact and prefix ranking, byte order on PostgreSQL) and every searched
    field joined by newlines (the substring check behind the bigram lookup)."""

    __tablename__ = "customer_search"
    customer_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False)
    name_norm: Mapped[str] = mapped_column(
        String(200).with_variant(String(200, collation="C"), "postgresql"))
    doc: Mapped[str] = mapped_column(Text)
    __table_args__ = (Index("ix_customer_search_name", "name_norm", "customer_id"),)


class SearchToken(Base):
    """Posting list: (token, customer) for every bigram of the searched fields, the first
    character of each (``\x02`` + char) and each contact mobile's last four digits
    (``\x03`` + digits). A WITHOUT ROWID table on SQLite (the key is the row).

    No foreign key to customers (migration 0005): its rows are written only with their
    customer's, in the same transaction (``services.customers.search``), and customers
    are never deleted (a merge leaves a tombstone, erasure anonymises); the check cost
    one parent look-up per posting (~30 a customer: PostgreSQL's per-row trigger doubled
    the server CPU of the index insert, issue 20)."""

    __tablename__ = "customer_search_tokens"
    token: Mapped[str] = mapped_column(String(16), primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigIntId, primary_key=True, autoincrement=False, index=True)
    __table_args__ = ({"sqlite_with_rowid": False},)


# (column, id) indexes: an equality filter reads its rows already in id order, so a
# keyset page (ORDER BY id LIMIT n) and the capped count stop early
Index("ix_customers_owner_type", Customer.owner_id, Customer.type, Customer.id)
Index("ix_customers_owner_id_id", Customer.owner_id, Customer.id)
Index("ix_customers_type_id", Customer.type, Customer.id)
Index("ix_customers_tier_id", Customer.tier, Customer.id)
Index("ix_customers_region_id", Customer.region, Customer.id)
Index("ix_customers_industry_id", Customer.industry_code, Customer.id)
Index("ix_customers_name_id", Customer.name, Customer.id)
Index("ix_customers_updated_id", Customer.updated_at, Customer.id)
Index("ix_customers_created_id", Customer.created_at, Customer.id)
