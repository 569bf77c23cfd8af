"""customers' persistence: queries and writes inside a unit of work."""
import datetime as dt
import json
from decimal import Decimal

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import object_session

from services.common import wire
from services.common.errors import Conflict, Merged, NotFound
from services.common.models import as_utc
from services.customers import domain, listing
from services.customers.models import (
    Attachment,
    Contact,
    Customer,
    CustomerTag,
    HistoryEntry,
    OrderLedger,
)

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


# --- the read hot path: one statement, no ORM ------------------------------------------
CUSTOMERS, CONTACTS, TAGS = Customer.__table__, Contact.__table__, CustomerTag.__table__
HISTORY = HistoryEntry.__table__
OUTPUT_FIELDS = ("id", "name", "uscc", "industry_code", "region", "scale", "annual_budget",
                 "needs", "source_channel", "type", "owner_id", "tier", "influence",
                 "cooperation_since", "lost_reason", "lost_note", "lost_at", "completeness",
                 "created_at", "updated_at", "version")
_CONTACT_COLS = ("id",) + CONTACT_KEYS
_read_stmts = {}


def _read_stmt(dialect):
    """customer ⟕ contacts (ordered by id) + the tags as a JSON array, per dialect."""
    stmt = _read_stmts.get(dialect)
    if stmt is None:
        agg = func.json_agg if dialect == "postgresql" else func.json_group_array
        tags = select(agg(TAGS.c.tag)).where(TAGS.c.customer_id == CUSTOMERS.c.id) \
            .scalar_subquery().label("tags_json")
        stmt = (select(*(CUSTOMERS.c[f] for f in OUTPUT_FIELDS),
                       *(CONTACTS.c[f].label(f"k_{f}") for f in _CONTACT_COLS),
                       CUSTOMERS.c.merged_into_id, tags)
                .select_from(CUSTOMERS.outerjoin(CONTACTS,
                                                 CONTACTS.c.customer_id == CUSTOMERS.c.id))
                .where(CUSTOMERS.c.id == bindparam("cid")).order_by(CONTACTS.c.id))
        _read_stmts[dialect] = stmt
    return stmt


def read(connection, customer_id, actor):
    """The ``to_output`` dict of one customer in one statement; NotFound if missing or not
    visible to ``actor``. Works on any connection (read-only or in a write transaction)."""
    try:
        customer_id = int(customer_id)
    except (TypeError, ValueError):
        raise NotFound(f"customer {customer_id} not found") from None
    rows = connection.execute(_read_stmt(connection.dialect.name), {"cid": customer_id}).all()
    if not rows or not actor.can_see(rows[0].owner_id):
        raise NotFound(f"customer {customer_id} not found")
    first = rows[0]
    ensure_not_merged(customer_id, first.merged_into_id)
    out = {f: first[i] for i, f in enumerate(OUTPUT_FIELDS)}
    tags = first.tags_json
    if isinstance(tags, str):
        tags = json.loads(tags)
    out["tags"] = sorted(t for t in tags or () if t is not None)
    n = len(OUTPUT_FIELDS)
    contacts = [{f: row[n + i] for i, f in enumerate(_CONTACT_COLS)}
                for row in rows if row[n] is not None]
    if not (actor.is_system or actor.id == out["owner_id"]):
        contacts = [domain.mask_contact(c) for c in contacts]
    out["contacts"] = contacts
    return out


# The same statement on the raw DB-API connection of a read-only unit of work: SQLAlchemy's
# per-statement overhead (connection, transaction, compiled cache, result processors) was
# most of a get_customer's own CPU. Values are converted to what SQLAlchemy returns
# (tests/integration/test_customers_read.py compares the two readers).
_raw_sql = {}


def _raw_statement(ro):
    got = _raw_sql.get(ro.dialect)
    if got is None:
        dialect = ro._engine.dialect
        compiled = _read_stmt(ro.dialect).compile(dialect=dialect)
        got = _raw_sql[ro.dialect] = (str(compiled), compiled.positional)
    return got


_PREPARED = "crm_customers_read"


def _prepared(raw, sql):
    """On PostgreSQL, ``get_customer``'s statement is prepared once per pooled
    connection (PREPARE … then EXECUTE): the server no longer parses and plans the
    join on every call (0.7 ms of its CPU per get on the bench box). The mark lives in
    the pool record's ``info``, which is new for every new DB-API connection (after a
    server restart, an invalidation). Not for a transaction-pooling PgBouncer."""
    if not raw.info.get(_PREPARED):
        body = sql.replace("%(cid)s", "$1").replace("%%", "%")
        with raw.cursor() as cur:
            cur.execute(f"PREPARE {_PREPARED} (bigint) AS {body}")
        raw.info[_PREPARED] = True
    return f"EXECUTE {_PREPARED} (%s)"


def _utc(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return as_utc(value)


def _date(value):
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def _decimal2(value):
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(f"{value:.2f}")


_OUT_CONVERT = {"annual_budget": _decimal2, "cooperation_since": _date, "lost_at": _utc,
                "created_at": _utc, "updated_at": _utc}


def read_fast(ro, customer_id, actor):
    """``read`` on ``ro.dbapi()``: the same dict, a fraction of the CPU."""
    try:
        customer_id = int(customer_id)
    except (TypeError, ValueError):
        raise NotFound(f"customer {customer_id} not found") from None
    sql, positional = _raw_statement(ro)
    raw = ro.dbapi()
    cur = raw.cursor()
    try:
        if ro.dialect == "postgresql":
            cur.execute(_prepared(raw, sql), (customer_id,))
        else:
            cur.execute(sql, (customer_id,) if positional else {"cid": customer_id})
        rows = cur.fetchall()
    finally:
        cur.close()
    n = len(OUTPUT_FIELDS)
    if not rows or not actor.can_see(rows[0][OUTPUT_FIELDS.index("owner_id")]):
        raise NotFound(f"customer {customer_id} not found")
    first = rows[0]
    ensure_not_merged(customer_id, first[-2])
    out = {}
    for i, f in enumerate(OUTPUT_FIELDS):
        conv = _OUT_CONVERT.get(f)
        out[f] = conv(first[i]) if conv else first[i]
    tags = first[-1]
    if isinstance(tags, str):
        tags = json.loads(tags)
    out["tags"] = sorted(t for t in tags or () if t is not None)
    contacts = []
    for row in rows:
        if row[n] is None:
            continue
        c = dict(zip(_CONTACT_COLS, row[n:n + len(_CONTACT_COLS)], strict=True))
        c["birthday"] = _date(c["birthday"])
        c["is_primary"] = None if c["is_primary"] is None else bool(c["is_primary"])
        contacts.append(c)
    if not (actor.is_system or actor.id == out["owner_id"]):
        contacts = [domain.mask_contact(c) for c in contacts]
    out["contacts"] = contacts
    return out


def plan_output(plan, actor):
    """``to_output`` of a customer just written from ``commands.prepare_create``."""
    out = {f: plan["record"][f] for f in OUTPUT_FIELDS}
    out["tags"] = list(plan["tags"])
    contacts = [{f: c.get(f) for f in _CONTACT_COLS} for c in plan["contacts"]]
    if not (actor.is_system or actor.id == out["owner_id"]):
        contacts = [domain.mask_contact(c) for c in contacts]
    out["contacts"] = contacts
    return out


def plan_event_data(plan, **extra):
    """``event_data`` of a customer just written from ``commands.prepare_create``."""
    r = plan["record"]
    data = {"customer_id": r["id"], "name": r["name"], "owner_id": r["owner_id"],
            "type": r["type"], "tier": r["tier"], "industry_code": r["industry_code"],
            "region": r["region"], "filled_fields": list(plan["filled"]),
            "tags": list(plan["tags"]), "completeness": r["completeness"],
            "created_at": r["created_at"].isoformat() if r["created_at"] else None}
    data.update(extra)
    return data


def get(session, customer_id, actor, for_update=False):
    stmt = select(Customer).where(Customer.id == customer_id)
    if for_update and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    customer = session.scalar(stmt)
    if customer is None or not actor.can_see(customer.owner_id):
        raise NotFound(f"customer {customer_id} not found")
    ensure_not_merged(customer_id, customer.merged_into_id)
    return customer


def ensure_not_merged(customer_id, merged_into_id):
    """A merged customer (a tombstone) answers with the declared Merged error."""
    if merged_into_id is not None:
        raise Merged(f"customer {customer_id} was merged into customer {merged_into_id}",
                     kept_id=merged_into_id)


def ensure_uscc_free(session, uscc, except_id=None):
    stmt = select(Customer.id).where(Customer.uscc == uscc)
    if except_id is not None:
        stmt = stmt.where(Customer.id != except_id)
    if session.scalar(stmt) is not None:
        raise Conflict("a customer with this unified social credit code already exists",
                       {"uscc": ["already registered"]}, code="DUPLICATE_USCC")


def _delete(customer, row):
    """Delete a contact or tag row of ``customer`` explicitly: a row merely dropped from
    its delete-orphan collection is deleted by the flush but never shows in
    ``session.deleted``, so the audit trail (services.common.audit) would not record it."""
    session = object_session(customer)
    if session is not None and inspect(row).persistent:
        session.delete(row)


def set_contacts(customer, contacts):
    for old in list(customer.contacts):
        _delete(customer, old)
    customer.contacts = [Contact(**{k: c.get(k) for k in CONTACT_KEYS}) for c in contacts]


def set_tags(customer, tags):
    wanted = sorted({t.strip() for t in tags if t and t.strip()})
    current = {row.tag: row for row in customer.tag_rows}
    for tag, row in current.items():
        if tag not in wanted:
            _delete(customer, row)
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
    broken = _anchors_broken(session, customer_id, entries)
    if broken:
        return {"valid": False, "entries": len(entries), "broken_at_seq": broken}
    return {"valid": True, "entries": len(entries), "broken_at_seq": None}


def _anchors_broken(session, customer_id, entries):
    """The log's entries against their anchors in the audit trail (keyed, outside the
    log): a re-hashed entry differs from its anchor, a removed tail leaves anchors past
    the last entry. The first seq that does not hold, else None."""
    auditor = session.info.get("auditor") or session.info.get("audit_reader")
    if auditor is None:
        return None
    conn = session.connection()
    if not auditor.verify_record(conn, "customer_history", customer_id)["valid"]:
        return 1
    expected = {}
    for a in auditor.trail(conn, "customer_history", customer_id):
        after = a["after"] or {}
        if "hashes" in after:  # a legitimate re-chain (erasure) restates them all
            expected.update({int(k): v for k, v in after["hashes"].items()})
        elif "seq" in after:
            expected[int(after["seq"])] = after["hash"]
    for e in entries:
        if e.seq in expected and expected[e.seq] != e.hash:
            return e.seq
    last = entries[-1].seq if entries else 0
    return last + 1 if expected and max(expected) > last else None


def list_page(connection, filters, owner_scope, page, page_size, cursor=None):
    """(ids of the page, next_cursor, total, total_is_estimate): ``listing.list_ids``."""
    return listing.list_ids(connection, filters, owner_scope, page, page_size, cursor)


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


def move_order(session, order_id, customer_id):
    """Book a ledger row on another customer (its customer was merged)."""
    row = session.get(OrderLedger, order_id)
    if row is not None:
        row.customer_id = customer_id
        session.flush()


def orders_last_12_months(session, customer_id, now):
    since = domain.tier_window_start(now)  # calendar months in CRM_TIMEZONE
    total = session.scalar(select(func.coalesce(func.sum(OrderLedger.amount), 0)).where(
        OrderLedger.customer_id == customer_id, OrderLedger.cancelled.is_(False),
        OrderLedger.placed_at >= since))
    first = session.scalar(select(func.min(OrderLedger.placed_at)).where(
        OrderLedger.customer_id == customer_id, OrderLedger.cancelled.is_(False)))
    return Decimal(str(total or 0)), first


def attachment(session, customer_id, attachment_id):
    """The customer's attachment row; NotFound for another customer's or a bad id."""
    try:
        attachment_id = int(attachment_id)
    except (TypeError, ValueError):
        raise NotFound(f"attachment {attachment_id} not found") from None
    if not 0 < attachment_id <= wire.INT64_MAX:  # no BIGINT id is that long
        raise NotFound(f"attachment {attachment_id} not found")
    row = session.scalar(select(Attachment).where(Attachment.id == attachment_id,
                                                  Attachment.customer_id == customer_id))
    if row is None:
        raise NotFound(f"attachment {attachment_id} not found")
    return row


def export_batch(connection, filters, owner_scope, after, limit):
    """Up to ``limit`` customers of the filtered list with an id above ``after`` (keyset:
    each batch is an index range scan, however deep the export is) → their ids."""
    return listing.export_ids(connection, filters, owner_scope, after, limit)
