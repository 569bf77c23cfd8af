"""The idempotent inbox: claim (event_id, handler) pairs in one statement.

``INSERT … ON CONFLICT (event_id, handler) DO NOTHING RETURNING event_id`` in the
caller's transaction: the rows it returns are the events this handler had not
seen, so the effect and the inbox row commit (or roll back) together. On
PostgreSQL a second transaction claiming the same event waits for the first and
then gets nothing back, instead of failing on the unique key. Used by
``UnitOfWork.already_applied`` (one event) and by reporting's batched apply.
"""
from sqlalchemy.dialects import postgresql, sqlite

from services.common.models import utcnow

_STATEMENTS = {}  # (inbox table, dialect) -> the insert, built once


def _claim_stmt(conn, table):
    key = (table, conn.dialect.name)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = _STATEMENTS[key] = insert(table).on_conflict_do_nothing(
            index_elements=["event_id", "handler"]).returning(table.c.event_id)
    return stmt


def claim(conn, inbox_model, handler, envelopes, now=None):
    """Record ``handler`` as having seen each envelope. Returns the indexes (in
    order) of the first copy of every event the inbox did not have; a repeat (an
    earlier delivery, or a second copy within ``envelopes``) is left out."""
    first, rows, now = {}, [], now or utcnow()
    for i, envelope in enumerate(envelopes):
        event_id = str(envelope["event_id"])
        if event_id in first:
            continue
        first[event_id] = i
        rows.append({"event_id": event_id, "handler": handler,
                     "event_type": envelope.get("type", ""), "applied_at": now})
    if not rows:
        return []
    params = rows if len(rows) > 1 else rows[0]  # one row: a plain execute, no executemany
    new = set(conn.scalars(_claim_stmt(conn, inbox_model.__table__), params))
    return sorted(i for event_id, i in first.items() if event_id in new)
