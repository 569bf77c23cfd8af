"""customers' persistence: queries and writes inside a unit of work."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import exists, func, or_, select

from services.common.errors import Conflict, NotFound
from services.customers import domain
from services.customers.models import Contact, Customer, CustomerTag, HistoryEntry, OrderLedger

CONTACT_KEYS = ("name", "title", "mobile", "email", "birthday", "preferred_channel",
                "is_primary")
SNAPSHOT_FIELDS = ("name", "uscc", "industry_code", "region", "scale", "annual_budget", "needs",
                   "source_channel", "type", "owner_id", "tier", "influence",
                   "cooperation_since", "lost_reason", "lost_note", "contacts", "tags")


def contact_dict(c):
    return {k: getattr(c, k) for k in ("id",) + CONTACT_KEYS}


def snapshot(customer):
    snap = {f: getattr(customer, f) for f in SNAPSHOT_FIELDS if f not in ("contacts", "tags")}
    snap["contacts"] = [{k: getattr(c, k) for k in CONTACT_KEYS} for c in customer.contacts]
    snap["tags"] = list(customer.tags)
    return snap


def filled(customer):
    profile = {f: getattr(customer, f) for f in domain.PROFILE_FIELDS}
    contacts = [{k: getattr(c, k) for k in CONTACT_KEYS} for c in customer.contacts]
    return domain.filled_fields(profile, domain.primary_contact(contacts))


def refresh_completeness(customer):
    customer.completeness = domain.completeness(filled(customer))


def to_output(customer, actor):
    """Dict for CustomerOutSchema; contact data masked for anyone but the owner."""
    out = {f: getattr(customer, f) for f in (
        "id", "name", "uscc", "industry_code", "region", "scale", "annual_budget", "needs",
        "source_channel", "type", "owner_id", "tier", "influence", "cooperation_since",
        "lost_reason", "lost_note", "lost_at", "completeness", "created_at", "updated_at",
        "version")}
    out["tags"] = list(customer.tags)
    contacts = [contact_dict(c) for c in customer.contacts]
    if not (actor.is_system or actor.id == customer.owner_id):
        contacts = [domain.mask_contact(c) for c in contacts]
    out["contacts"] = contacts
    return out


def event_data(customer, **extra):
    data = {"customer_id": customer.id, "name": customer.name, "owner_id": customer.owner_id,
            "type": customer.type, "tier": customer.tier,
            "industry_code": customer.industry_code, "region": customer.region,
            "filled_fields": filled(customer), "tags": list(customer.tags),
            "completeness": customer.completeness,
            "created_at": customer.created_at.isoformat() if customer.created_at else None}
    data.update(extra)
    return data


def get(session, customer_id, actor, for_update=False):
    stmt = select(Customer).where(Customer.id == customer_id)
    if for_update and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    customer = session.scalar(stmt)
    if customer is None or not actor.can_see(customer.owner_id):
        raise NotFound(f"customer {customer_id} not found")
    return customer


def ensure_uscc_free(session, uscc, except_id=None):
    stmt = select(Customer.id).where(Customer.uscc == uscc)
    if except_id is not None:
        stmt = stmt.where(Customer.id != except_id)
    if session.scalar(stmt) is not None:
        raise Conflict("a customer with this unified social credit code already exists",
                       {"uscc": ["already registered"]}, code="DUPLICATE_USCC")


def set_contacts(customer, contacts):
    customer.contacts = [Contact(**{k: c.get(k) for k in CONTACT_KEYS}) for c in contacts]


def set_tags(customer, tags):
    wanted = sorted({t.strip() for t in tags if t and t.strip()})
    current = {row.tag: row for row in customer.tag_rows}
    for tag, row in current.items():
        if tag not in wanted:
            customer.tag_rows.remove(row)
    for tag in wanted:
        if tag not in current:
            customer.tag_rows.append(CustomerTag(tag=tag))


def append_history(session, customer_id, operator, at, action, changes):
    last = session.execute(
        select(HistoryEntry.seq, HistoryEntry.hash).where(HistoryEntry.customer_id == customer_id)
        .order_by(HistoryEntry.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, domain.GENESIS)
    payload = domain.history_payload(customer_id, seq, operator, at, action, changes)
    entry = HistoryEntry(customer_id=customer_id, seq=seq, operator_id=operator, at=at,
                         action=action, changes=changes, prev_hash=prev,
                         hash=domain.chain_hash(prev, payload))
    session.add(entry)
    return entry


def verify_history(session, customer_id):
    prev = domain.GENESIS
    entries = session.scalars(select(HistoryEntry).where(HistoryEntry.customer_id == customer_id)
                              .order_by(HistoryEntry.seq)).all()
    for e in entries:
        payload = domain.history_payload(e.customer_id, e.seq, e.operator_id, e.at, e.action,
                                         e.changes)
        if e.prev_hash != prev or domain.chain_hash(prev, payload) != e.hash:
            return {"valid": False, "entries": len(entries), "broken_at_seq": e.seq}
        prev = e.hash
    return {"valid": True, "entries": len(entries), "broken_at_seq": None}


def list_query(filters, owner_scope):
    stmt = select(Customer)
    if owner_scope is not None:
        stmt = stmt.where(Customer.owner_id == owner_scope)
    if filters.get("owner_id"):
        stmt = stmt.where(Customer.owner_id == filters["owner_id"])
    for key in ("type", "tier", "region"):
        if filters.get(key):
            stmt = stmt.where(getattr(Customer, key) == filters[key])
    if filters.get("industry_code"):
        stmt = stmt.where(Customer.industry_code.startswith(filters["industry_code"].upper()))
    for tag in filters.get("tags_all") or ():
        stmt = stmt.where(exists().where(CustomerTag.customer_id == Customer.id,
                                         CustomerTag.tag == tag))
    if filters.get("tags_any"):
        stmt = stmt.where(exists().where(CustomerTag.customer_id == Customer.id,
                                         CustomerTag.tag.in_(filters["tags_any"])))
    if filters.get("q"):
        like = f"%{filters['q']}%"
        stmt = stmt.where(or_(Customer.name.like(like), Customer.uscc.like(like),
                              Customer.needs.like(like)))
    return stmt


def list_page(session, filters, owner_scope, page, page_size):
    stmt = list_query(filters, owner_scope)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(Customer.id).offset((page - 1) * page_size)
                           .limit(page_size)).all()
    return rows, total


def record_order(session, data, occurred_at, event_type):
    """Update the order ledger from a sales event. Returns the customer id or None."""
    order_id = str(data.get("order_id"))
    row = session.get(OrderLedger, order_id)
    amount = Decimal(str(data.get("amount", "0")))
    if event_type == "order_placed":
        if row is None:
            row = OrderLedger(order_id=order_id, customer_id=int(data["customer_id"]),
                              amount=amount, placed_at=occurred_at, cancelled=False)
            session.add(row)
        else:  # change or cancellation arrived first: keep what it said
            row.placed_at = occurred_at
    elif row is None:
        row = OrderLedger(order_id=order_id, customer_id=int(data["customer_id"]),
                          amount=amount, placed_at=occurred_at,
                          cancelled=event_type == "order_cancelled")
        session.add(row)
    elif event_type == "order_changed" and "amount" in data:
        row.amount = amount
    elif event_type == "order_cancelled":
        row.cancelled = True
    session.flush()
    return row.customer_id


def orders_last_12_months(session, customer_id, now):
    since = now - dt.timedelta(days=365)
    total = session.scalar(select(func.coalesce(func.sum(OrderLedger.amount), 0)).where(
        OrderLedger.customer_id == customer_id, OrderLedger.cancelled.is_(False),
        OrderLedger.placed_at >= since))
    first = session.scalar(select(func.min(OrderLedger.placed_at)).where(
        OrderLedger.customer_id == customer_id, OrderLedger.cancelled.is_(False)))
    return Decimal(str(total or 0)), first
