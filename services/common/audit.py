"""The audit trail: one append-only, keyed hash chain per service, in its own database.

Who (the actor of the unit of work, or ``system``), when, what (record type, record id,
action, the entry point that did it) and the changed values before/after, for every
business record a service marks with ``__audit__ = "<record type>"`` on its model.
ORM flushes are recorded automatically (an ``after_flush`` listener, in the same
transaction as the change); set-based writes (``raw_insert``, Core updates) call
``record(conn, entries)`` themselves; reads of full contact data and exports call
``record_read``.

Tamper evidence without trusting the database:

- every entry's ``hash`` is an HMAC-SHA256, with a key the database does not hold
  (``AUDIT_KEY``, per service), over the entry and the previous entry's hash (and the
  previous hash of the same record): editing a row, or re-hashing the chain without
  the key, breaks the HMAC of the first row touched;
- ``seq`` is gapless per service and each record has its own ``record_index``: deleting
  a row in the middle is a gap (and a broken link);
- the head (last seq and hash) is kept in ``audit_head`` with its own HMAC, and
  published as a signed ``audit_checkpoint`` event that reporting keeps (outside this
  database): by a write that grows the chain, at most every ``AUDIT_CHECKPOINT_SECONDS``,
  and by the ``publish_audit_checkpoint`` timer once the head has moved past the last
  checkpoint and none went out for that long (so a quiet period's tail is anchored
  too); deleting the tail leaves the head (or the checkpoint) pointing past the last
  row; rolling the head back to an older signed head is caught by the newer checkpoint.

Contact values (the columns a model lists in ``__audit_pii__``) are never written in
clear: they are masked plus a keyed digest (``138****5678 #1f2e...``), so erasing a
contact person changes no entry and the chain stays valid.
"""
import datetime as dt
import hashlib
import hmac
import json
import time
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.common.db import raw_cursor, raw_insert, wrap_dbapi_error
from services.common.identifiers import mask_email, mask_mobile
from services.common.models import BigIntId, UTCDateTime

GENESIS = "0" * 64
ERASED = "[erased]"
IGNORED_COLUMNS = {"version"}


# --- tables ------------------------------------------------------------------------------
def declare_audit(Base):
    """Add ``audit_log`` and ``audit_head`` to a service's declarative Base."""

    class AuditEntry(Base):
        __tablename__ = "audit_log"
        id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
        seq: Mapped[int] = mapped_column(BigInteger, unique=True)
        at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
        actor: Mapped[str] = mapped_column(String(64))
        via: Mapped[str | None] = mapped_column(String(128))
        record_type: Mapped[str] = mapped_column(String(32))
        record_id: Mapped[str] = mapped_column(String(64))
        record_index: Mapped[int] = mapped_column(Integer)
        action: Mapped[str] = mapped_column(String(32))
        before: Mapped[dict | None] = mapped_column(JSON, nullable=True)
        after: Mapped[dict | None] = mapped_column(JSON, nullable=True)
        prev_hash: Mapped[str] = mapped_column(String(64))
        record_prev: Mapped[str] = mapped_column(String(64))
        hash: Mapped[str] = mapped_column(String(64))
        __table_args__ = (
            UniqueConstraint("record_type", "record_id", "record_index",
                             name="uq_audit_record_index"),
        )

    class AuditHead(Base):
        """The chain's head (one row), with its own HMAC."""

        __tablename__ = "audit_head"
        id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
        seq: Mapped[int] = mapped_column(BigInteger)
        hash: Mapped[str] = mapped_column(String(64))
        mac: Mapped[str] = mapped_column(String(64))
        at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    Index("ix_audit_log_at", AuditEntry.at)
    return AuditEntry, AuditHead


# --- keys, masking, canonical form ---------------------------------------------------------
def service_key(config, service):
    """The service's audit key: HMAC(AUDIT_KEY, service). AUDIT_KEY empty (dev): derived
    from the JWT key, like WEB_SECRET. The database holds neither."""
    root = (config or {}).get("AUDIT_KEY") or ((config or {}).get("JWT") or {}).get("key") \
        or "kehu-crm-audit-dev"
    return hmac.new(str(root).encode(), b"crm-audit:" + service.encode(), hashlib.sha256).digest()


_KEYED = {}  # key -> an HMAC-SHA256 with the key already absorbed (copied per message)


def _mac(key, text):
    keyed = _KEYED.get(key)
    if keyed is None:
        keyed = _KEYED[key] = hmac.new(key, digestmod=hashlib.sha256)
    h = keyed.copy()
    h.update(text.encode("utf-8"))
    return h.hexdigest()


def mask_name(value):
    value = str(value)
    return value[:1] + "*" * max(len(value) - 1, 1)


def mask_contact_value(key, kind, value):
    """A contact value as it may appear in an audit entry: masked + a keyed digest."""
    if value is None or value == "":
        return value
    if value == ERASED:
        return ERASED
    text = _plain(value)
    masked = {"mobile": mask_mobile, "email": mask_email, "name": mask_name}.get(
        kind, lambda v: "*" * 4)(str(text))
    if kind == "contact":  # an address of either kind
        masked = mask_email(text) if "@" in str(text) else mask_mobile(str(text))
    return f"{masked} #{_mac(key, f'{kind}:{text}')[:12]}"


_SIMPLE = (str, int, float, type(None))


def _plain(value):
    if isinstance(value, _SIMPLE):  # bool is an int
        return value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def canonical(payload):
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _at_text(at):
    return at.astimezone(dt.timezone.utc).isoformat() if at.tzinfo else \
        at.replace(tzinfo=dt.timezone.utc).isoformat()


def entry_payload(row):
    return {"seq": row["seq"], "at": _at_text(row["at"]), "actor": row["actor"],
            "via": row["via"], "record_type": row["record_type"],
            "record_id": row["record_id"], "record_index": row["record_index"],
            "action": row["action"], "before": row["before"], "after": row["after"],
            "prev_hash": row["prev_hash"], "record_prev": row["record_prev"]}


# --- the auditor -----------------------------------------------------------------------------
class Auditor:
    """Appends to and verifies one service's chain (``Database.audit``)."""

    def __init__(self, base, key, service):
        self.entries = base.Audit.__table__
        self.head = base.AuditHead.__table__
        self.key = key
        self.service = service
        self._head_ready = False
        self.checkpoint_every = None  # seconds between published heads; None: never
        self._checkpoint_at = None
        self.published_seq = None  # the newest seq this process knows was published
        self.pending = []  # reads noted on read-only paths, appended by flush_pending

    # values of a record
    def values(self, obj, columns=None):
        """{column: value} of a mapped object, contact columns masked."""
        state = inspect(obj)
        pii = getattr(type(obj), "__audit_pii__", {})
        columns = columns or getattr(type(obj), "__audit_columns__", None)
        out = {}
        for attr in state.mapper.column_attrs:
            name = attr.key
            if name in IGNORED_COLUMNS or (columns is not None and name not in columns):
                continue
            value = state.dict.get(name)
            if value is None:  # not loaded, or NULL: absent
                continue
            out[name] = self._value(pii, name, value)
        return out

    def _value(self, pii, name, value):
        if name in pii:
            return mask_contact_value(self.key, pii[name], value)
        return value if isinstance(value, _SIMPLE) else _plain(value)

    def mask_row(self, model, row):
        """{column: value} of a plain dict row of ``model`` (set-based writes); a
        ``contacts`` list in it is masked as the model's ``__audit_children__`` says."""
        pii = getattr(model, "__audit_pii__", {})
        out = {k: self._value(pii, k, v) for k, v in row.items()
               if v is not None and k not in IGNORED_COLUMNS}  # absent = NULL
        for key, child in getattr(model, "__audit_children__", {}).items():
            if isinstance(row.get(key), list):
                out[key] = [self.mask_row(child, c) for c in row[key]]
        return out

    # writing
    def _lock_head(self, conn):
        if not self._head_ready:
            if conn.execute(select(self.head.c.id).where(self.head.c.id == 1)).first() is None:
                conn.execute(insert(self.head).values(
                    id=1, seq=0, hash=GENESIS, mac=self.head_mac(0, GENESIS), at=None))
            self._head_ready = True
        row = conn.execute(select(self.head.c.seq, self.head.c.hash)
                           .where(self.head.c.id == 1).with_for_update()).first()
        if row is None:  # the head row was deleted under us: start it again (verify says so)
            self._head_ready = False
            return self._lock_head(conn)
        return row.seq, row.hash

    def head_mac(self, seq, head_hash):
        return _mac(self.key, f"head|{self.service}|{seq}|{head_hash}")

    def record(self, conn, entries, actor="system", via=None, at=None):
        """Append ``entries`` ({record_type, record_id, action, before, after}, optional
        actor/via/at; ``new: True`` when the caller just made the record, so it has no
        entries to look up; ``plain: True`` when before/after are JSON values already) in
        order, in the caller's transaction."""
        if not entries:
            return []
        at = at or dt.datetime.now(dt.timezone.utc)
        seq, prev = self._lock_head(conn)
        last = self._records_last(conn, {(e["record_type"], str(e["record_id"]))
                                         for e in entries if not e.get("new")})
        rows = []
        for e in entries:
            rkey = (e["record_type"], str(e["record_id"]))
            index, rprev = last.get(rkey, (0, GENESIS))
            seq += 1
            row = {"seq": seq, "at": e.get("at") or at, "actor": str(e.get("actor") or actor)[:64],
                   "via": (e.get("via") or via), "record_type": rkey[0], "record_id": rkey[1],
                   "record_index": index + 1, "action": e["action"],
                   "before": e.get("before") if e.get("plain") else _plain(e.get("before")),
                   "after": e.get("after") if e.get("plain") else _plain(e.get("after")),
                   "prev_hash": prev, "record_prev": rprev}
            row["hash"] = _mac(self.key, canonical(entry_payload(row)))
            rows.append(row)
            prev = row["hash"]
            last[rkey] = (index + 1, prev)
        # the head first, through SQLAlchemy (a read-only unit of work refuses it), then
        # the entries in one executemany on the transaction's raw cursor (the columns'
        # own bind processors: what lands is what insert() wrote; a multi-row VALUES
        # per 500 rows on PostgreSQL), not SQLAlchemy's per-row parameter processing
        conn.execute(update(self.head).where(self.head.c.id == 1).values(
            seq=seq, hash=prev, mac=self.head_mac(seq, prev), at=at))
        cursor = raw_cursor(conn)
        try:
            raw_insert(self.entries, conn.dialect).insert_many(cursor, rows)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise wrap_dbapi_error(exc, conn, "INSERT INTO audit_log") from exc
        finally:
            cursor.close()
        return rows

    def _records_last(self, conn, keys, chunk=500):
        """{(record_type, record_id): (last record_index, its hash)} of records that
        have entries (ids may be reused: SQLite hands a deleted row's id out again)."""
        t = self.entries
        by_type = {}
        for rtype, rid in keys:
            by_type.setdefault(rtype, []).append(rid)
        out = {}
        for rtype, ids in by_type.items():
            for i in range(0, len(ids), chunk):
                last = select(t.c.record_id, func.max(t.c.record_index).label("mx")).where(
                    t.c.record_type == rtype, t.c.record_id.in_(ids[i:i + chunk])) \
                    .group_by(t.c.record_id).subquery()
                for r in conn.execute(select(t.c.record_id, t.c.record_index, t.c.hash).join(
                        last, and_(t.c.record_id == last.c.record_id,
                                   t.c.record_index == last.c.mx))
                        .where(t.c.record_type == rtype)):
                    out[(rtype, r.record_id)] = (r.record_index, r.hash)
        return out

    def record_read(self, conn, actor, record_type, record_ids, action, via=None, detail=None):
        """Audit a read of full contact data or an export (one entry per record)."""
        return self.record(conn, [{"record_type": record_type, "record_id": rid,
                                   "action": action, "before": None, "after": detail}
                                  for rid in record_ids], actor=actor, via=via)

    def note_read(self, actor, record_type, record_ids, action, via=None, detail=None):
        """A read of full contact data or an export, noted without a write on the read
        path; the service's ``flush_audit_reads`` timer appends it within a second."""
        at = dt.datetime.now(dt.timezone.utc)
        self.pending.extend({"record_type": record_type, "record_id": rid, "action": action,
                             "before": None, "after": detail, "actor": actor, "via": via,
                             "at": at} for rid in record_ids)

    def take_pending(self):
        taken, self.pending = self.pending, []
        return taken

    # reading
    def trail(self, conn, record_type, record_id):
        t = self.entries
        rows = conn.execute(select(t).where(t.c.record_type == record_type,
                                            t.c.record_id == str(record_id))
                            .order_by(t.c.record_index)).mappings().all()
        return [{"seq": r["seq"], "at": _at_text(r["at"]), "actor": r["actor"], "via": r["via"],
                 "action": r["action"], "before": r["before"], "after": r["after"]}
                for r in rows]

    def checkpoint(self, conn):
        """The current head, signed: what ``audit_checkpoint`` publishes."""
        row = conn.execute(select(self.head).where(self.head.c.id == 1)).mappings().first()
        seq, head_hash = (row["seq"], row["hash"]) if row else (0, GENESIS)
        return self.sign_checkpoint(seq, head_hash)

    def head_now(self, conn):
        """(seq, hash) of the head as stored ((0, GENESIS) before the first entry)."""
        row = conn.execute(select(self.head.c.seq, self.head.c.hash)
                           .where(self.head.c.id == 1)).first()
        return (row.seq, row.hash) if row else (0, GENESIS)

    def checkpoint_quiet(self):
        """True when checkpoints are published and none went out for
        ``checkpoint_every`` seconds (the clock is left alone)."""
        if self.checkpoint_every is None:
            return False
        return self._checkpoint_at is None or (
            time.monotonic() - self._checkpoint_at >= self.checkpoint_every)

    def checkpoint_due(self):
        """True (and the clock restarted) when a new head should be published."""
        if not self.checkpoint_quiet():
            return False
        self._checkpoint_at = time.monotonic()
        return True

    def mark_published(self, seq):
        """A checkpoint of ``seq`` is committed to the outbox (or was found there)."""
        if seq is not None:
            self.published_seq = max(self.published_seq or 0, int(seq))

    def sign_checkpoint(self, seq, head_hash):
        at = dt.datetime.now(dt.timezone.utc).isoformat()
        return {"service": self.service, "seq": seq, "hash": head_hash, "at": at,
                "mac": _mac(self.key, f"checkpoint|{self.service}|{seq}|{head_hash}")}

    def checkpoint_valid(self, cp):
        try:
            want = _mac(self.key, f"checkpoint|{self.service}|{int(cp['seq'])}|{cp['hash']}")
            return cp.get("service") == self.service and hmac.compare_digest(want, cp["mac"])
        except (KeyError, TypeError, ValueError):
            return False

    # verifying
    def verify_chain(self, conn, checkpoint=None, batch=5000):
        """Walk the whole chain: ``{"valid", "entries", "first_bad_seq", "problem"}``;
        ``first_bad_seq`` is the first position that is altered, missing or past the
        last row while the head or the checkpoint says it exists."""
        t = self.entries
        expected, prev, count = 1, GENESIS, 0
        after_seq = 0
        while True:
            rows = conn.execute(select(t).where(t.c.seq > after_seq).order_by(t.c.seq)
                                .limit(batch)).mappings().all()
            if not rows:
                break
            for r in rows:
                count += 1
                if r["seq"] != expected:
                    return _bad(count - 1, expected, "entry missing")
                if r["prev_hash"] != prev or not hmac.compare_digest(
                        _mac(self.key, canonical(entry_payload(r))), r["hash"]):
                    return _bad(count - 1, expected, "entry altered")
                prev, expected = r["hash"], expected + 1
            after_seq = rows[-1]["seq"]
        last = expected - 1
        problem = self._head_problem(conn, last, prev, checkpoint)
        if problem:
            return _bad(count, problem[0], problem[1])
        return {"valid": True, "entries": count, "first_bad_seq": None, "problem": None}

    def _head_problem(self, conn, last_seq, last_hash, checkpoint):
        head = conn.execute(select(self.head).where(self.head.c.id == 1)).mappings().first()
        if head is None:
            if last_seq:
                return last_seq + 1, "head missing"
        else:
            if not hmac.compare_digest(self.head_mac(head["seq"], head["hash"]), head["mac"]):
                return min(head["seq"], last_seq) + 1 if head["seq"] else 1, "head altered"
            if head["seq"] > last_seq:
                return last_seq + 1, "tail removed (head)"
            if head["seq"] < last_seq or head["hash"] != last_hash:
                return head["seq"] + 1, "head does not match the last entry"
        if checkpoint:
            if not self.checkpoint_valid(checkpoint):
                return None  # not signed with our key: no evidence either way
            cp_seq = int(checkpoint["seq"])
            if cp_seq > last_seq:
                return last_seq + 1, "tail removed (checkpoint)"
            if cp_seq:
                t = self.entries
                got = conn.execute(select(t.c.hash).where(t.c.seq == cp_seq)).scalar()
                if got != checkpoint["hash"]:
                    return cp_seq, "checkpoint does not match"
        return None

    def verify_record(self, conn, record_type, record_id, checkpoint=None):
        """One record's entries (HMAC, gapless ``record_index``, links) and the chain's
        head; a deletion elsewhere in the chain is located by walking the chain."""
        t = self.entries
        rows = conn.execute(select(t).where(t.c.record_type == record_type,
                                            t.c.record_id == str(record_id))
                            .order_by(t.c.record_index)).mappings().all()
        rprev = GENESIS
        for i, r in enumerate(rows, start=1):
            bad = None
            if r["record_index"] != i:
                bad = "entry missing"
            elif r["record_prev"] != rprev or not hmac.compare_digest(
                    _mac(self.key, canonical(entry_payload(r))), r["hash"]):
                bad = "entry altered"
            if bad:
                return {"valid": False, "entries": len(rows), "first_bad_index": i,
                        "first_bad_seq": r["seq"] if bad == "entry altered" else None,
                        "problem": bad}
            rprev = r["hash"]
        head = conn.execute(select(self.head).where(self.head.c.id == 1)).mappings().first()
        stats = conn.execute(select(func.count(), func.max(t.c.seq))).first()
        consistent = (head is not None and hmac.compare_digest(
            self.head_mac(head["seq"], head["hash"]), head["mac"])
            and stats[0] == head["seq"] and (stats[1] or 0) == head["seq"]) or (
            head is None and not stats[0])
        if not consistent or checkpoint:
            chain = self.verify_chain(conn, checkpoint)
            if not chain["valid"]:
                return {"valid": False, "entries": len(rows), "first_bad_index": None,
                        "first_bad_seq": chain["first_bad_seq"], "problem": chain["problem"]}
        return {"valid": True, "entries": len(rows), "first_bad_index": None,
                "first_bad_seq": None, "problem": None}


def _bad(entries, seq, problem):
    return {"valid": False, "entries": entries, "first_bad_seq": seq, "problem": problem}


# --- automatic entries for ORM flushes ----------------------------------------------------------
def bind(session, auditor, actor, via):
    """Audit this session's flushes as ``actor`` (set by the unit of work)."""
    session.info["auditor"] = auditor
    session.info["audit_actor"] = actor
    session.info["audit_via"] = via


def record_in_session(session, entries):
    """Append entries for set-based statements run on an audited session (a unit of
    work's); nothing on a session without an auditor."""
    auditor = session.info.get("auditor")
    if auditor is None or not entries:
        return []
    rows = auditor.record(session.connection(), entries, actor=session.info.get("audit_actor"),
                          via=session.info.get("audit_via"))
    session.info["audit_head"] = (rows[-1]["seq"], rows[-1]["hash"])
    return rows


@event.listens_for(Session, "after_flush")
def _after_flush(session, flush_context):
    auditor = session.info.get("auditor")
    if auditor is None:
        return
    entries = []
    for obj in list(session.new):
        rtype = getattr(type(obj), "__audit__", None)
        if rtype:
            entries.append({"record_type": rtype, "record_id": _record_id(obj),
                            "action": "created", "before": None, "after": auditor.values(obj),
                            "plain": True})
    for obj in list(session.dirty):
        rtype = getattr(type(obj), "__audit__", None)
        if not rtype or obj in session.deleted:
            continue
        before, after = _changes(auditor, obj)
        if after:
            entries.append({"record_type": rtype, "record_id": _record_id(obj),
                            "action": getattr(obj, "_audit_action", None) or "updated",
                            "before": before, "after": after, "plain": True})
    for obj in list(session.deleted):
        rtype = getattr(type(obj), "__audit__", None)
        if rtype:
            entries.append({"record_type": rtype, "record_id": _record_id(obj),
                            "action": "deleted", "before": auditor.values(obj), "after": None,
                            "plain": True})
    if entries:
        rows = auditor.record(session.connection(), entries,
                              actor=session.info.get("audit_actor"),
                              via=session.info.get("audit_via"))
        session.info["audit_head"] = (rows[-1]["seq"], rows[-1]["hash"])


def _record_id(obj):
    by = getattr(type(obj), "__audit_record_id__", None)  # e.g. a log entry's owner
    if by:
        return str(getattr(obj, by))
    ident = inspect(obj).identity or ()
    return ":".join(str(v) for v in ident) if ident else str(getattr(obj, "id", ""))


def _changes(auditor, obj):
    state = inspect(obj)
    pii = getattr(type(obj), "__audit_pii__", {})
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        name = attr.key
        if name in IGNORED_COLUMNS:
            continue
        hist = state.attrs[name].history
        if not hist.added and not hist.deleted:
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        if old == new:
            continue
        before[name] = auditor._value(pii, name, old)
        after[name] = auditor._value(pii, name, new)
    return before, after
