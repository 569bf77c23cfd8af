"""Engines and the unit of work: one transaction per worker, rollback by default.

SQLite (embedded default) and PostgreSQL (production) behave the same to
callers. PostgreSQL uses psycopg2 made cooperative with psycogreen so a slow
query never blocks the eventlet hub; SQLite calls are short and serialised
per process with a green lock (``BEGIN IMMEDIATE`` avoids lock upgrades).
"""
import contextlib
import logging

from sqlalchemy import create_engine, event
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
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    _green_psycopg()
    return create_engine(with_driver(url), pool_size=pool_size, max_overflow=pool_size,
                         pool_pre_ping=True)


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
