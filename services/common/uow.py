"""The unit of work and the ``Database`` dependency provider.

    with self.db.uow() as uow:
        customer = domain.create(uow.session, data)
        uow.emit("customer_created", payload)
        uow.commit()

Events emitted inside the unit of work are written to the outbox in the same
transaction (one multi-row insert just before the commit); nothing commits
unless ``commit()`` is called. After a commit the relay is woken so the events
leave within milliseconds.

Read-only RPCs use ``self.db.read_uow()``: no green lock and no write lock on
SQLite (WAL readers run next to the writer), autocommit on PostgreSQL; it
never commits and cannot emit.

    with self.db.read_uow() as ro:
        row = ro.connection.execute(stmt).first()   # or ro.session (ORM)
"""
import contextlib
import datetime as dt
import uuid

from nameko.extensions import DependencyProvider
from sqlalchemy import select

from services.common import audit, inbox, metrics
from services.common.actors import actor_from_context
from services.common.config import db_url
from services.common.db import (
    GreenLock,
    is_sqlite,
    make_engine,
    make_sessionmaker,
    raw_cursor,
    raw_insert,
    read_engine,
    wrap_dbapi_error,
)
from services.common.relay import Relay

EVENT_VERSION = 1


def make_envelope(source, event_type, data, actor_id=None, occurred_at=None):
    occurred_at = occurred_at or dt.datetime.now(dt.timezone.utc)
    return {
        "event_id": str(uuid.uuid4()),
        "type": event_type,
        "version": EVENT_VERSION,
        "occurred_at": occurred_at.astimezone(dt.timezone.utc).isoformat(),
        "source": source,
        "actor_id": actor_id,
        "data": data,
    }


class UnitOfWork:
    """One transaction. ``session`` (ORM) and ``connection`` (Core) open on first use; a
    unit that only needs Core statements never builds an ORM session."""

    def __init__(self, db, actor_id, handler, session=None):
        self._db = db
        self._session = session
        self._conn = self._trans = None
        self.actor_id = actor_id
        self.handler = handler
        self._emitted = 0
        self._audit_head = None  # (seq, hash) after this transaction's audit entries
        self._checkpoint_seq = None  # the head this transaction publishes, if any
        self._outbox = []
        self.committed = False

    @property
    def session(self):
        if self._session is None:
            if self._conn is not None:  # join the Core transaction already open
                self._session = self._db.Session(bind=self._conn)
            else:
                self._session = self._db.Session()
            if getattr(self._db, "audit", None) is not None:  # flushes audit themselves
                audit.bind(self._session, self._db.audit, self.actor_label, self.handler)
        return self._session

    @property
    def connection(self):
        """The Core connection of this transaction (for set-based statements)."""
        if self._session is not None:
            return self._session.connection()
        if self._conn is None:
            self._conn = self._db.engine.connect()
            self._trans = self._conn.begin()
        return self._conn

    @property
    def actor_label(self):
        return self.actor_id or "system"

    def audit(self, entries, at=None):
        """Append audit entries for set-based writes (ORM flushes are recorded by
        themselves): ``[{record_type, record_id, action, before, after}]``; an entry
        may give ``after_row=(Model, row dict)`` instead of ``after`` (masked here)."""
        auditor = getattr(self._db, "audit", None)
        if auditor is None:  # a Database that was never set up (unit tests)
            return []
        for e in entries:
            if "after_row" in e:
                e["after"] = auditor.mask_row(*e.pop("after_row"))
                e["plain"] = e.get("before") is None
        rows = auditor.record(self.connection, entries, actor=self.actor_label,
                              via=self.handler, at=at)
        if rows:
            self._audit_head = (rows[-1]["seq"], rows[-1]["hash"])
        return rows

    def emit(self, event_type, data, occurred_at=None):
        """Queue an event in the outbox, in this transaction (written at commit)."""
        env = make_envelope(self._db.service_name, event_type, data, self.actor_id, occurred_at)
        self._outbox.append({"event_id": env["event_id"], "event_type": event_type,
                             "envelope": env, "created_at": dt.datetime.now(dt.timezone.utc),
                             "sent_at": None, "attempts": 0})
        self._emitted += 1
        return env

    def flush_outbox(self):
        """Write the queued events now (commit does it too), in emit order."""
        if not self._outbox:
            return
        rows, self._outbox = self._outbox, []
        conn = self.connection
        cursor = raw_cursor(conn)
        try:
            raw_insert(self._db.base.Outbox.__table__, conn.dialect).insert_many(cursor, rows)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise wrap_dbapi_error(exc, conn, "INSERT INTO outbox") from exc
        finally:
            cursor.close()

    def _audit_checkpoint(self):
        """A transaction that grew the audit chain publishes the signed head with its
        events (``audit_checkpoint``; at most every ``AUDIT_CHECKPOINT_SECONDS``), for
        reporting to keep outside this database."""
        auditor = getattr(self._db, "audit", None)
        if auditor is None:
            return
        if self._session is not None and self._session.info.get("auditor") is not None:
            self._session.flush()
            head = self._session.info.pop("audit_head", None)
        else:
            head = None
        heads = [h for h in (self._audit_head, head) if h]
        head = max(heads) if heads else None
        if head and auditor.checkpoint_due():
            self.emit("audit_checkpoint", auditor.sign_checkpoint(*head))
            self._checkpoint_seq = head[0]

    def already_applied(self, envelope):
        """Inbox check for event handlers: True (and counted) if seen before,
        else records (event_id, handler) in this transaction."""
        if inbox.claim(self.session.connection(), self._db.base.Inbox, self.handler,
                       [envelope]):
            return False
        metrics.EVENTS_DUPLICATE.labels(self._db.service_name, self.handler).inc()
        return True

    def commit(self):
        self._audit_checkpoint()
        self.flush_outbox()
        if self._session is not None:
            self._session.commit()
        if self._trans is not None:
            self._trans.commit()
        self.committed = True
        if self._checkpoint_seq is not None:
            self._db.audit.mark_published(self._checkpoint_seq)
        if self._emitted:
            self._db.relay.wake()

    def rollback(self):
        self._outbox = []
        if self._session is not None:
            self._session.rollback()
        if self._trans is not None:
            self._trans.rollback()
            self._trans = self._conn.begin()

    def close(self):
        try:
            if self._session is not None:
                if not self.committed:
                    self._session.rollback()
                self._session.close()
        finally:
            if self._conn is not None:
                self._conn.close()  # rolls back what was not committed


class ReadUnitOfWork:
    """A read-only unit of work. Everything is opened on first use:

    - ``connection``: a Core connection (SQLite: deferred ``BEGIN``, a WAL snapshot
      for several statements; PostgreSQL: autocommit);
    - ``session``: an ORM session on that connection;
    - ``dbapi()``: a raw DB-API connection from the same pool in autocommit mode,
      for a hot path that runs one statement (one statement is one snapshot).
    """

    def __init__(self, db, engine):
        self._db = db
        self._engine = engine
        self._conn = self._session = self._raw = None

    @property
    def dialect(self):
        return self._engine.dialect.name

    @property
    def connection(self):
        if self._conn is None:
            self._conn = self._engine.connect()
        return self._conn

    @property
    def session(self):
        if self._session is None:
            self._session = self._db.Session(bind=self.connection)
            # verifying reads the audit trail (never written here: nothing flushes)
            self._session.info["audit_reader"] = getattr(self._db, "audit", None)
        return self._session

    def dbapi(self):
        if self._raw is None:
            raw = self._engine.raw_connection()
            if self.dialect != "sqlite":  # SQLite connections are autocommit already
                raw.dbapi_connection.autocommit = True
            self._raw = raw
        return self._raw

    def close(self):
        try:
            if self._session is not None:
                self._session.close()
            if self._conn is not None:
                self._conn.close()  # rolls back: a read-only unit never commits
        finally:
            raw, self._raw = self._raw, None
            if raw is not None:
                try:
                    if self.dialect != "sqlite" and not raw.dbapi_connection.closed:
                        raw.dbapi_connection.autocommit = False
                finally:
                    raw.close()


def refresh_sqlite_stats(engine, rows_per_index=1000):
    """SQLite plans joins and index choices from ``sqlite_stat1``, which only ANALYZE
    writes and which nothing else keeps: a bounded ANALYZE (``analysis_limit``: about
    ``rows_per_index`` rows per index, milliseconds at any size) at every start keeps
    the statistics near the data. PostgreSQL's autovacuum does this by itself."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA analysis_limit={int(rows_per_index)}")
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    except Exception:  # noqa: BLE001 - statistics are an optimisation, never a failure
        import logging
        logging.getLogger(__name__).warning("ANALYZE failed", exc_info=True)


class Database(DependencyProvider):
    """The service's own database, its outbox relay and its unit of work."""

    def __init__(self, base):
        self.base = base

    def setup(self):
        self.service_name = self.container.service_name
        config = self.container.config
        self.url = db_url(config, self.service_name)
        self.engine = make_engine(self.url)
        self.Session = make_sessionmaker(self.engine)
        self.lock = GreenLock(is_sqlite(self.url))
        self.relay = Relay(self.service_name, self.base.Outbox, self.Session, self.lock,
                           config["AMQP_URI"], postgres=not is_sqlite(self.url))
        self.audit = audit.Auditor(self.base, audit.service_key(config, self.service_name),
                                   self.service_name)
        from services.contract import AUDIT_SOURCES
        every = float(config.get("AUDIT_CHECKPOINT_SECONDS") or 0)
        self.audit.checkpoint_every = (
            every if self.service_name in AUDIT_SOURCES and every >= 0 else None)

    def start(self):
        if is_sqlite(self.url):
            refresh_sqlite_stats(self.engine)
        self.container.spawn_managed_thread(self.relay.run, identifier="outbox-relay")

    def stop(self):
        self.relay.stop()

    def kill(self):
        self.relay.stop()

    @contextlib.contextmanager
    def unit_of_work(self, actor_id=None, handler=None):
        with self.lock.held():
            uow = UnitOfWork(self, actor_id, handler)
            try:
                yield uow
            finally:
                uow.close()

    def publish_quiet_head(self, actor_id=None, handler=None):
        """The timer's half of the checkpoints (``DomainService.publish_audit_checkpoint``):
        when no checkpoint went out for ``AUDIT_CHECKPOINT_SECONDS`` and the head has
        moved past the newest one published (this process's memory; after a start, the
        newest ``audit_checkpoint`` in the outbox), the signed current head is emitted
        through the outbox like a write's. Returns the checkpoint, or None when nothing
        was due (a head that has not moved is never published again)."""
        auditor = getattr(self, "audit", None)
        if auditor is None or not auditor.checkpoint_quiet():
            return None
        with self.read_unit_of_work() as ro:  # no lock: one row
            seq, _ = auditor.head_now(ro.connection)
        if not seq or seq <= (auditor.published_seq or 0):
            return None
        outbox = self.base.Outbox.__table__
        with self.unit_of_work(actor_id, handler) as uow:
            conn = uow.connection
            seq, head_hash = auditor.head_now(conn)
            env = conn.execute(select(outbox.c.envelope)
                               .where(outbox.c.event_type == "audit_checkpoint")
                               .order_by(outbox.c.id.desc()).limit(1)).scalar()
            sent = ((env or {}).get("data") or {}).get("seq")
            if sent is not None and int(sent) >= seq:  # another writer published it
                auditor.mark_published(sent)
                return None
            if not seq or not auditor.checkpoint_due():
                return None
            checkpoint = auditor.sign_checkpoint(seq, head_hash)
            uow.emit("audit_checkpoint", checkpoint)
            uow.commit()
        auditor.mark_published(seq)
        return checkpoint

    @contextlib.contextmanager
    def read_unit_of_work(self):
        cached = getattr(self, "_reader", None)
        if cached is None or cached[0] is not self.engine:
            cached = self._reader = (self.engine, read_engine(self.engine))
        ro = ReadUnitOfWork(self, cached[1])
        try:
            yield ro
        finally:
            ro.close()

    def get_dependency(self, worker_ctx):
        return _DbAccess(self, worker_ctx)


class _DbAccess:
    def __init__(self, db, worker_ctx):
        self._db = db
        self._ctx = worker_ctx

    def uow(self):
        actor = actor_from_context(self._ctx.data)
        handler = f"{self._ctx.service_name}.{self._ctx.entrypoint.method_name}"
        return self._db.unit_of_work(actor.id, handler)

    def read_uow(self):
        """A read-only unit of work (no lock, never commits)."""
        return self._db.read_unit_of_work()

    def publish_quiet_head(self):
        """``Database.publish_quiet_head`` as this worker's actor."""
        actor = actor_from_context(self._ctx.data)
        handler = f"{self._ctx.service_name}.{self._ctx.entrypoint.method_name}"
        return self._db.publish_quiet_head(actor.id, handler)

    @property
    def engine(self):
        return self._db.engine

    @property
    def relay(self):
        return self._db.relay

    @property
    def audit(self):
        return self._db.audit
