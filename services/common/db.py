"""Engines and the unit of work: one transaction per worker, rollback by default.

SQLite (embedded default) and PostgreSQL (production) behave the same to
callers. PostgreSQL uses psycopg2 made cooperative with psycogreen so a slow
query never blocks the eventlet hub; SQLite writes are short and serialised
per process with a green lock (``BEGIN IMMEDIATE`` avoids lock upgrades).
Read-only units of work (``read_engine``) take neither: on SQLite they open a
deferred ``BEGIN`` (WAL readers never wait for the writer), on PostgreSQL they
run in autocommit (no BEGIN/ROLLBACK round trips; one statement is one snapshot).

PostgreSQL connections are not pinged on every checkout (``pool_pre_ping``
costs a round trip per unit of work): a connection is pinged only when it sat
idle in the pool for ``IDLE_PING_SECONDS`` (a server restart or an idle
timeout is found there), and recycled after ``POOL_RECYCLE_SECONDS``. A
connection that breaks while in use invalidates the pool (SQLAlchemy's
disconnect handling), so only the statements in flight at that moment fail.
"""
import contextlib
import logging
import time

from sqlalchemy import create_engine, event, insert
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import sessionmaker

log = logging.getLogger(__name__)
_patched = False


def _green_psycopg():
    global _patched
    if _patched:
        return
    try:
        from eventlet import patcher
        if patcher.is_monkey_patched("socket"):
            from psycogreen.eventlet import patch_psycopg
            patch_psycopg()
            _patched = True
    except ImportError:  # pragma: no cover - eventlet is a hard dependency
        pass


def is_sqlite(url):
    return str(url).startswith("sqlite")


def with_driver(url):
    """Pin psycopg2 (made green by psycogreen): SQLAlchemy 2.1 maps a bare
    ``postgresql://`` to psycopg 3, which we do not ship."""
    url = str(url)
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url[len(bare):]
    return url


def make_engine(url, pool_size=10):
    if is_sqlite(url):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # a read-only unit of work takes no write lock: WAL readers see a snapshot
            read = conn.get_execution_options().get(READ_ONLY)
            conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

        return engine
    _green_psycopg()
    engine = create_engine(with_driver(url), pool_size=pool_size, max_overflow=pool_size,
                           pool_recycle=POOL_RECYCLE_SECONDS)
    _ping_when_idle(engine)
    return engine


READ_ONLY = "crm_read_only"
IDLE_PING_SECONDS = 5.0
POOL_RECYCLE_SECONDS = 1800


def _ping_when_idle(engine, idle_seconds=IDLE_PING_SECONDS):
    """Pessimistic disconnect handling for connections that sat idle, only."""

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn, record):
        record.info["crm_checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, _proxy):
        since = record.info.get("crm_checked_in")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
            dbapi_conn.rollback()  # the ping opened a transaction: leave none behind
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_conn, None):
                # the pool discards this connection and checks out another
                raise sa_exc.DisconnectionError(str(exc)) from exc
            raise


class ReadOnlyError(RuntimeError):
    """A write was attempted in a read-only unit of work."""


_READ_VERBS = ("SELECT", "WITH", "BEGIN", "PRAGMA", "SHOW", "EXPLAIN", "VALUES")


def read_engine(engine):
    """The same pool with the read-only options (see the module docstring). A write
    through it raises ReadOnlyError (on PostgreSQL it would autocommit)."""
    if is_sqlite(engine.url):
        reader = engine.execution_options(**{READ_ONLY: True})
    else:
        reader = engine.execution_options(isolation_level="AUTOCOMMIT", **{READ_ONLY: True})

    @event.listens_for(reader, "before_cursor_execute")
    def _refuse_writes(_conn, _cursor, statement, *_args):
        if not statement.lstrip()[:7].upper().startswith(_READ_VERBS):
            raise ReadOnlyError(f"read-only unit of work: {statement.split(None, 1)[0]}")

    return reader


class GreenLock:
    """A per-engine lock that yields to other greenthreads instead of blocking."""

    def __init__(self, enabled):
        self._sem = None
        if enabled:
            from eventlet.semaphore import Semaphore
            self._sem = Semaphore(1)

    @contextlib.contextmanager
    def held(self):
        if self._sem is None:
            yield
            return
        with self._sem:
            yield


def make_sessionmaker(engine):
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


# --- multi-row inserts on the raw DB-API cursor of the current transaction ------------
# SQLAlchemy's per-execute work (compiled cache, per-row parameter processing, result
# set-up) is most of a small write's CPU. These statements are compiled once per dialect
# by SQLAlchemy and the values converted with the columns' own bind processors, so what
# lands in the database is exactly what an ``insert()`` through SQLAlchemy writes.
_raw_inserts = {}


class RawInsert:
    """An insert of every column but the primary key: rows give every value (no
    column defaults are applied; a missing key is NULL)."""

    def __init__(self, table, dialect, returning=()):
        self.columns = tuple(c.key for c in table.c if not c.primary_key)
        self.table = table
        self.dialect = dialect
        stmt = insert(table)
        if returning:
            stmt = stmt.returning(*(table.c[c] for c in returning))
        compiled = stmt.compile(dialect=dialect, column_keys=list(self.columns))
        self.positional = compiled.positional
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        # bind names are the column names (escaped if need be): map each to its column
        by_bind = {compiled.binds[n].key: n for n in names}
        self.procs = [(c, by_bind[c], table.c[c].type._cached_bind_processor(dialect))
                      for c in self.columns]
        self.order = [next(i for i, (_, b, _) in enumerate(self.procs) if b == n)
                      for n in names] if self.positional else None
        self.sql = str(compiled)
        if not returning:  # PostgreSQL adds RETURNING <pk> to a single-row insert
            self.sql = self.sql.partition(" RETURNING ")[0]
        head, _, values = self.sql.partition(" VALUES ")
        self._head, self._values_tail = head, values
        self._row_sql, _, self._returning = values.partition(" RETURNING ")

    def params(self, row):
        vals = []
        for c, _, proc in self.procs:
            v = row.get(c)
            vals.append(proc(v) if proc is not None else v)
        if self.positional:
            return tuple(vals[i] for i in self.order)
        return {b: vals[i] for i, (_, b, _) in enumerate(self.procs)}

    def execute(self, cursor, row):
        cursor.execute(self.sql, self.params(row))

    def executemany(self, cursor, rows):
        if rows:
            cursor.executemany(self.sql, [self.params(r) for r in rows])

    def insert_many(self, cursor, rows, page=500):
        """Rows without RETURNING: SQLite's executemany is a C loop; psycopg2's is a
        round trip per row, so there one multi-row VALUES per ``page`` rows."""
        if not rows:
            return
        if self.positional:
            cursor.executemany(self.sql, [self.params(r) for r in rows])
            return
        for start in range(0, len(rows), page):
            self.insert_returning(cursor, rows[start:start + page])

    def multi_row(self, rows, tag=""):
        """(sql, params) of one multi-row ``INSERT … VALUES (…), (…) [RETURNING …]``;
        named parameters get the suffix ``_<tag><row>`` so statements can be joined."""
        if self.positional:
            sql = (f"{self._head} VALUES " + ", ".join([self._row_sql] * len(rows))
                   + (f" RETURNING {self._returning}" if self._returning else ""))
            return sql, tuple(v for r in rows for v in self.params(r))
        parts, params = [], {}
        for i, r in enumerate(rows):
            p = self.params(r)
            part = self._row_sql
            for b in sorted(p, key=len, reverse=True):
                part = part.replace(f"%({b})s", f"%({b}_{tag}{i})s")
            parts.append(part)
            params.update({f"{b}_{tag}{i}": v for b, v in p.items()})
        sql = (f"{self._head} VALUES " + ", ".join(parts)
               + (f" RETURNING {self._returning}" if self._returning else ""))
        return sql, params

    def insert_returning(self, cursor, rows):
        """One multi-row insert → the returned rows (if it has RETURNING)."""
        if not rows:
            return []
        sql, params = self.multi_row(rows)
        cursor.execute(sql, params)
        return cursor.fetchall() if self._returning else []


def raw_insert(table, dialect, returning=()):
    key = (table.name, dialect.name, tuple(returning))
    got = _raw_inserts.get(key)
    if got is None:
        got = _raw_inserts[key] = RawInsert(table, dialect, returning)
    return got


def raw_cursor(connection):
    """A DB-API cursor inside ``connection``'s (SQLAlchemy) transaction."""
    return connection.connection.dbapi_connection.cursor()


def wrap_dbapi_error(exc, connection, statement="INSERT"):
    """A raw DB-API error as SQLAlchemy's own exception class (IntegrityError, ...)."""
    return sa_exc.DBAPIError.instance(statement, None, exc,
                                      connection.dialect.loaded_dbapi.Error)
