"""Keyset (cursor) paging and capped totals for list RPCs.

A list answers ``{items, total, page, page_size, next_cursor, total_is_estimate}``:

- ``next_cursor`` is an opaque string (None on the last page); passing it back as
  ``cursor`` returns the rows after the last one shown, in the same stable order
  (sort key, then id). Each page is an index range scan however deep it is, and a row
  inserted or deleted meanwhile never makes another row skipped or repeated.
- ``page`` keeps working (OFFSET) for small results and old callers.
- ``total`` is exact up to ``TOTAL_EXACT_UP_TO`` matches; above it the count stops
  there and ``total`` is an estimate, with ``total_is_estimate: true``: the matches are
  read in id order up to the threshold and extrapolated over the id span
  (``estimate_from_span``).

A cursor carries the sort, the last row's key and a fingerprint of the filters: a
cursor from another query (or tampered with) is a declared ValidationError naming
``cursor``.
"""
import base64
import datetime as dt
import hashlib
import json
import time

from sqlalchemy import and_, func, literal, or_, select, tuple_

from services.common.errors import validation_error

TOTAL_EXACT_UP_TO = 1000
BAD_CURSOR = "not a cursor this list returned"


def fingerprint(filters):
    """A short digest of the filters a cursor was made for."""
    canon = json.dumps(filters or {}, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:12]


def encode_cursor(filters, key, **extra):
    body = {"f": fingerprint(filters), "k": list(key), **extra}
    raw = json.dumps(body, separators=(",", ":"), default=str, ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor, filters, key_len=None):
    """The cursor's body (``k``: the last key, plus what ``encode_cursor`` added), or a
    ValidationError on ``cursor``. ``None``/``""`` → None."""
    if cursor in (None, ""):
        return None
    try:
        if not isinstance(cursor, str) or len(cursor) > 2048:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw.decode("utf-8"))
        if not isinstance(body, dict) or body.get("f") != fingerprint(filters):
            raise ValueError
        key = body.get("k")
        if not isinstance(key, list) or (key_len is not None and len(key) != key_len):
            raise ValueError
        for part in key:
            if isinstance(part, bool) or not isinstance(part, (int, str, type(None))):
                raise ValueError
            if isinstance(part, int) and not -2 ** 63 <= part < 2 ** 63:
                raise ValueError
    except (ValueError, TypeError, UnicodeDecodeError):
        raise validation_error({"cursor": BAD_CURSOR}) from None
    return body


def after(columns, descending, key):
    """``WHERE`` for the rows after ``key`` in the order (columns, all ascending or all
    descending). The last column is the unique tiebreaker (the id); NULL keys are not
    supported (sort on NOT NULL columns)."""
    key = [literal(v, type_=c.type) for c, v in zip(columns, key, strict=True)]
    if len(columns) == 1:
        return columns[0] < key[0] if descending else columns[0] > key[0]
    if descending:
        return tuple_(*columns) < tuple_(*key)
    return tuple_(*columns) > tuple_(*key)


def or_after(columns, descending, key):
    """``after`` written as OR/AND (for planners that do not use row values)."""
    terms = []
    for i, col in enumerate(columns):
        eq = [columns[j] == key[j] for j in range(i)]
        terms.append(and_(*eq, col < key[i] if descending else col > key[i]))
    return or_(*terms)


def estimate_from_span(counted, last_id, lo, hi):
    """``counted`` matches have ids in [lo, last_id]; extrapolate to [lo, hi]."""
    if not last_id or hi is None or lo is None or last_id <= lo:
        return counted
    return max(counted, round(counted * (hi - lo + 1) / (last_id - lo + 1)))


def capped_total(connection, id_stmt, id_col, table_id, cap=TOTAL_EXACT_UP_TO):
    """(total, is_estimate) of ``id_stmt`` (a SELECT of matching ids): counts at most
    ``cap`` + 1 of them in id order; above ``cap`` extrapolates over ``table_id``'s span."""
    sub = id_stmt.order_by(id_col).limit(cap + 1).subquery()
    col = list(sub.c)[0]
    n, last = connection.execute(select(func.count(), func.max(col))).one()
    if n <= cap:
        return n, False
    lo, hi = id_span(connection, table_id)
    return estimate_from_span(cap + 1, last, lo, hi), True


_SPANS = {}
SPAN_TTL = 30.0


def id_span(connection, table_id):
    """(min id, max id) of a table: two primary key index probes, remembered for
    ``SPAN_TTL`` seconds per database (an estimate does not need the newest id)."""
    bind = connection.get_bind() if hasattr(connection, "get_bind") else connection
    key = (str(getattr(bind, "engine", bind).url), str(table_id))
    now = time.monotonic()
    got = _SPANS.get(key)
    if got is None or now - got[0] > SPAN_TTL:
        lo, hi = connection.execute(select(func.min(table_id), func.max(table_id))).one()
        got = _SPANS[key] = (now, lo, hi)
    return got[1], got[2]


def page_keyset(connection, stmt, order, descending, filters, cursor, page, page_size,
                id_col=None, cap=TOTAL_EXACT_UP_TO, count=True):
    """One page of ``stmt`` (a SELECT whose rows have the ``order`` columns) in the
    order ``order`` (the last one unique) → (rows, next_cursor, total, is_estimate).
    With ``cursor`` the page starts after it; else at ``(page - 1) * page_size``."""
    body = decode_cursor(cursor, filters, key_len=len(order))
    q = stmt
    if body is not None:
        q = q.where(after(order, descending, [_key_in(c, v) for c, v in zip(
            order, body["k"], strict=True)]))
    q = q.order_by(*(c.desc() if descending else c for c in order)).limit(page_size + 1)
    if body is None and page > 1:
        q = q.offset((page - 1) * page_size)
    rows = connection.execute(q).all()
    more = len(rows) > page_size
    rows = rows[:page_size]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor(filters, [_key_value(last, c) for c in order])
    total = estimate = None
    if count:
        id_col = id_col if id_col is not None else order[-1]
        total, estimate = capped_total(connection, stmt.with_only_columns(id_col), id_col,
                                       id_col, cap)
    return rows, next_cursor, total, estimate


def _key_in(col, value):
    """A cursor's key part as the column's Python type (datetimes travel as ISO text)."""
    try:
        kind = getattr(col.type, "impl", col.type).python_type
    except (NotImplementedError, AttributeError):
        return value
    if value is None or isinstance(value, kind):
        return value
    try:
        if kind is dt.datetime:
            return dt.datetime.fromisoformat(value)
        if kind is dt.date:
            return dt.date.fromisoformat(value)
        if kind is int:
            return int(value)
    except (TypeError, ValueError):
        raise validation_error({"cursor": BAD_CURSOR}) from None
    return value


def _key_value(row, col):
    value = row._mapping[col]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def paged(items, total, page, page_size, next_cursor=None, total_is_estimate=False):
    """The list answer (a superset of ``services.common.schemas.paged``)."""
    return {"items": items, "total": total, "page": page, "page_size": page_size,
            "next_cursor": next_cursor, "total_is_estimate": bool(total_is_estimate)}


def orm_page(session, stmt, id_col, filters, cursor, page, page_size, descending=False,
             cap=TOTAL_EXACT_UP_TO):
    """``page_keyset`` for an ORM ``select(Model)`` ordered by its id (the lists of
    sales, service_desk and marketing) → (objects, next_cursor, total, is_estimate)."""
    body = decode_cursor(cursor, filters, key_len=1)
    q = stmt
    if body is not None:
        k = _key_in(id_col, body["k"][0])
        if not isinstance(k, int):
            raise validation_error({"cursor": BAD_CURSOR})
        q = q.where(id_col < k if descending else id_col > k)
    q = q.order_by(id_col.desc() if descending else id_col).limit(page_size + 1)
    if body is None and page > 1:
        q = q.offset((page - 1) * page_size)
    rows = session.scalars(q).all()
    more = len(rows) > page_size
    rows = rows[:page_size]
    next_cursor = encode_cursor(filters, [getattr(rows[-1], id_col.key)]) if more else None
    total, estimate = capped_total(session, stmt.with_only_columns(id_col), id_col, id_col,
                                   cap)
    return rows, next_cursor, total, estimate


def orm_page_by(session, stmt, order, filters, cursor, page, page_size, descending=False,
                cap=TOTAL_EXACT_UP_TO):
    """``orm_page`` for an order of several NOT NULL columns, the last one unique within
    the list (``FollowUp.due_at, FollowUp.id``; an audience's ``customer_id``) → (objects,
    next_cursor, total, is_estimate). The cursor carries the last row's key; the total
    counts the ids (or the unique column) as ``capped_total``."""
    body = decode_cursor(cursor, filters, key_len=len(order))
    q = stmt
    if body is not None:
        key = [_key_in(c, v) for c, v in zip(order, body["k"], strict=True)]
        for col, value in zip(order, key, strict=True):
            if not _fits(col, value):
                raise validation_error({"cursor": BAD_CURSOR})
        q = q.where(after(order, descending, key))
    q = q.order_by(*(c.desc() if descending else c for c in order)).limit(page_size + 1)
    if body is None and page > 1:
        q = q.offset((page - 1) * page_size)
    rows = session.scalars(q).all()
    more = len(rows) > page_size
    rows = rows[:page_size]
    next_cursor = None
    if more:
        last = [getattr(rows[-1], c.key) for c in order]
        next_cursor = encode_cursor(filters, [v.isoformat() if hasattr(v, "isoformat") else v
                                              for v in last])
    unique = order[-1]
    total, estimate = capped_total(session, stmt.with_only_columns(unique), unique, unique,
                                   cap)
    return rows, next_cursor, total, estimate


def _fits(col, value):
    """A decoded key part is of its column's Python type (never NULL)."""
    if value is None:
        return False
    try:
        kind = getattr(col.type, "impl", col.type).python_type
    except (NotImplementedError, AttributeError):
        return True
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return False  # every time this project stores is aware (UTC)
    return isinstance(value, kind) and not isinstance(value, bool)
