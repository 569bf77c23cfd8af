"""``list_customers``: filters, ranked search and keyset paging on a read-only connection.

Without ``q`` the order is ``sort`` (id, name, -name, updated, -updated) with the id as
tiebreaker; with ``q`` it is the rank: the exact USCC, then names that start with the
text (exact name first, then by name), then every other match by id. Each group is
read from an index in that order with ``LIMIT``, so a page costs the same on page 1
and page 5000 (cursor). ``total`` is exact up to ``paging.TOTAL_EXACT_UP_TO`` matches,
else an extrapolation marked ``total_is_estimate`` (``services.common.paging``).
"""
import contextlib
import json

from sqlalchemy import and_, bindparam, exists, func, not_, select, tuple_

from services.common import paging
from services.common.errors import validation_error
from services.customers import domain, search
from services.customers.models import Contact, Customer, CustomerTag, SearchDoc, SearchToken

C, D, T = Customer.__table__, SearchDoc.__table__, CustomerTag.__table__
K, TOK = Contact.__table__, SearchToken.__table__
PROBE_CAP = 1000          # bigram/tag frequency probes stop counting here
MAX_SEARCH_ROWS = 10_000  # page × page_size with q (deeper: use the cursor)
_SORTS = {"id": ((C.c.id,), False), "name": ((C.c.name, C.c.id), False),
          "-name": ((C.c.name, C.c.id), True), "updated": ((C.c.updated_at, C.c.id), False),
          "-updated": ((C.c.updated_at, C.c.id), True)}


# the search index holds no merged customer (search.reindex drops them): token-driven
# streams skip this term and, without other filters, never read the customer row
NOT_MERGED = C.c.merged_into_id.is_(None) if "merged_into_id" in C.c else None


def conditions(filters, owner_scope, id_col=None):
    """WHERE terms on ``customers`` for everything but ``q`` (tags as EXISTS probes of
    the (customer_id, tag) unique index, correlated on ``id_col``: a driving table's
    customer id lets SQLite test them before it reads the customer row)."""
    id_col = C.c.id if id_col is None else id_col
    conds = []
    if NOT_MERGED is not None:  # a merged customer is a pointer, not a list row
        conds.append(NOT_MERGED)
    if owner_scope is not None:
        conds.append(C.c.owner_id == owner_scope)
    if filters.get("owner_id"):
        conds.append(C.c.owner_id == filters["owner_id"])
    for key in ("type", "tier", "region"):
        if filters.get(key):
            conds.append(C.c[key] == filters[key])
    if filters.get("industry_code"):  # prefix as a range: the (industry_code, id) index
        code = filters["industry_code"].upper()
        conds.append(and_(C.c.industry_code >= code, C.c.industry_code < code + "\x7f"))
    for key, col in (("created", C.c.created_at), ("updated", C.c.updated_at)):
        if filters.get(f"{key}_from") is not None:
            conds.append(col >= filters[f"{key}_from"])
        if filters.get(f"{key}_to") is not None:
            conds.append(col < filters[f"{key}_to"])
    for tag in sorted(set(filters.get("tags_all") or ())):
        conds.append(exists().where(T.c.customer_id == id_col, T.c.tag == tag))
    if filters.get("tags_any"):
        conds.append(exists().where(T.c.customer_id == id_col,
                                    T.c.tag.in_(sorted(set(filters["tags_any"])))))
    return conds


def probes(connection, table, col, values, cap=PROBE_CAP):
    """{value: rows with ``col == value`` counted up to ``cap``} in one statement (one
    round trip however many values: each is an index range scan that stops at cap)."""
    values = list(values)
    if not values:
        return {}
    cols = [select(func.count()).select_from(
        select(table.c.customer_id).where(col == v).limit(cap).subquery())
        .scalar_subquery() for v in values]
    row = connection.execute(select(*cols)).one()
    return dict(zip(values, row, strict=True))


SQLITE_MMAP = 1 << 30      # bytes of the database file mapped for reads
SQLITE_CACHE = -32768      # page cache of a reading connection: 32 MiB


def prepare(connection):
    """Once per pooled connection. PostgreSQL: no parallel workers for list statements
    (they stop after a few hundred rows; starting workers cost more than the scan, and
    on a busy 2-core box it multiplied the wall time). SQLite: ``mmap_size`` and a
    larger page cache, so the random index probes of a search are memory reads instead
    of ``pread`` calls (3-4 per probe)."""
    info = connection.connection.info
    if connection.dialect.name == "sqlite":
        if not info.get("crm_list_session"):  # index pages read through a memory map
            with contextlib.closing(connection.connection.dbapi_connection.cursor()) as cur:
                cur.execute(f"PRAGMA mmap_size = {SQLITE_MMAP}")
                cur.execute(f"PRAGMA cache_size = {SQLITE_CACHE}")
            info["crm_list_session"] = True
        return
    if not info.get("crm_list_session"):  # a session setting, not a write: raw cursor
        with connection.connection.dbapi_connection.cursor() as cur:
            cur.execute("SET max_parallel_workers_per_gather = 0")
        info["crm_list_session"] = True


def list_ids(connection, filters, owner_scope, page, page_size, cursor):
    """→ (ids of the page in order, next_cursor, total, total_is_estimate)."""
    prepare(connection)
    fp = _fingerprint_filters(filters)
    if filters.get("q") and not search.Query(filters["q"]).empty:
        return _search(connection, filters, fp, owner_scope, page, page_size, cursor)
    return _plain(connection, filters, fp, owner_scope, page, page_size, cursor)


def _fingerprint_filters(filters):
    return json.loads(json.dumps(filters, default=str, sort_keys=True))


# --- no q: one keyset stream ------------------------------------------------------------
def _plain(connection, filters, fp, owner_scope, page, page_size, cursor):
    sort = filters.get("sort") or "id"
    order, desc = _SORTS[sort]
    conds = conditions(filters, owner_scope)
    tags = sorted(set(filters.get("tags_all") or ()))
    if sort == "id" and tags:
        # drive from the rarest tag's (tag, customer_id) postings: already in id order
        counts = probes(connection, T, T.c.tag, tags)
        rare = min(tags, key=lambda t: counts[t])
        if counts[rare] == 0:
            return [], None, 0, False
        drv = T.alias("drv")
        conds = conditions(dict(filters, tags_all=[t for t in tags if t != rare]),
                           owner_scope, drv.c.customer_id)
        stmt = (select(drv.c.customer_id).select_from(drv.join(C, C.c.id == drv.c.customer_id))
                .where(drv.c.tag == rare, *conds))
        order = (drv.c.customer_id,)
    else:
        stmt = select(*order).where(*conds)
    rows, next_cursor, total, estimate = paging.page_keyset(
        connection, stmt, order, desc, fp, cursor, page, page_size)
    return [r[-1] for r in rows], next_cursor, total, estimate


# --- q: ranked groups --------------------------------------------------------------------
def _search(connection, filters, fp, owner_scope, page, page_size, cursor):
    query = search.Query(filters["q"])
    dialect = connection.dialect.name
    conds = conditions(filters, owner_scope)
    body = paging.decode_cursor(cursor, fp)
    group, key = 0, None
    if body is not None:
        group, key = _cursor_key(body["k"])
        offset = 0
    else:
        offset = (page - 1) * page_size
        if offset + page_size > MAX_SEARCH_ROWS:
            raise validation_error({"page": f"with q, pages reach {MAX_SEARCH_ROWS} rows; "
                                            "page on with next_cursor"})
    want = offset + page_size + 1
    out = []  # (group, key, id)
    if group == 0 and key is None and query.uscc_exact:
        for (cid,) in connection.execute(select(C.c.id).where(
                C.c.uscc == query.uscc_exact, *conds)):
            out.append((0, [cid], cid))
    lo, hi = query.name_range()
    if len(out) < want and group <= 1:
        stmt = (select(D.c.name_norm, D.c.customer_id)
                .select_from(D.join(C, C.c.id == D.c.customer_id))
                .where(D.c.name_norm >= lo, D.c.name_norm < hi, *conds))
        if query.uscc_exact:
            stmt = stmt.where(C.c.uscc != query.uscc_exact)
        if group == 1:
            stmt = stmt.where(tuple_(D.c.name_norm, D.c.customer_id) > tuple_(*key))
        for name, cid in connection.execute(
                stmt.order_by(D.c.name_norm, D.c.customer_id).limit(want - len(out))):
            out.append((1, [name, cid], cid))
    if len(out) < want:
        after_id = key[0] if group == 2 else None
        for cid in _rest(connection, query, dialect, conds, after_id, want - len(out),
                         exclude=(lo, hi)):
            out.append((2, [cid], cid))
    out = out[offset:]
    more = len(out) > page_size
    out = out[:page_size]
    next_cursor = paging.encode_cursor(fp, [out[-1][0], *out[-1][1]]) if more else None
    total, estimate = _search_total(connection, query, dialect, conds)
    return [cid for _, _, cid in out], next_cursor, total, estimate


def _cursor_key(k):
    bad = validation_error({"cursor": paging.BAD_CURSOR})
    if not k or k[0] not in (0, 1, 2):
        raise bad
    group, rest = k[0], k[1:]
    if group in (0, 2) and (len(rest) != 1 or not isinstance(rest[0], int)):
        raise bad
    if group == 1 and (len(rest) != 2 or not isinstance(rest[0], str)
                       or not isinstance(rest[1], int)):
        raise bad
    if group == 0:  # the exact USCC row was shown: go on with the name group
        return 1, ["", 0]
    return group, rest


def _streams(query, dialect, conds, connection, exclude=None):
    """Statements selecting matching customer ids (one per way of matching), each
    readable in id order from an index: (stmt, id column)."""
    out = []
    extra = list(conds)
    if exclude is not None:
        lo, hi = exclude
        extra.append(not_(and_(D.c.name_norm >= lo, D.c.name_norm < hi)))
        if query.uscc_exact:
            extra.append(C.c.uscc != query.uscc_exact)
    if query.grams and not query.uscc_exact:  # an 18-character USCC is not a name part
        counts = query.counts
        if counts is None:  # probed once per call (page and total share them)
            counts = query.counts = probes(connection, TOK, TOK.c.token, query.grams)
        ranked = sorted(query.grams, key=lambda g: (counts[g], g))
        driver = ranked[0]
        if counts[driver] > 0:
            # the substring check on doc decides; other bigrams are probed only when the
            # driver is common (two at most: PostgreSQL plans every EXISTS as a join)
            others = ranked[1:3] if counts[driver] >= PROBE_CAP else []
            t, tconds = search.text_match(query, dialect, driver, others)
            out.append(_joined(t, tconds, extra, need_doc=len(query.text) > 2
                               or exclude is not None))
    if query.uscc_prefix and not (exclude is not None and query.uscc_exact):
        # (a whole USCC's prefix range is the exact USCC: group 0 has shown it)
        lo_u, hi_u = query.uscc_prefix, query.uscc_prefix + "~"
        col = C.c.uscc
        if dialect == "sqlite" and _probe_uscc(connection, lo_u, hi_u) >= PROBE_CAP:
            col = C.c.uscc.concat("")  # many hits: read the id order, not the USCC index
        stmt = (select(C.c.id.label("cid")).select_from(
            C.join(D, D.c.customer_id == C.c.id) if exclude is not None else C)
            .where(col >= lo_u, col < hi_u, *extra))
        out.append((stmt, C.c.id))
    if query.mobile:
        stmt = (select(K.c.customer_id.label("cid")).select_from(_with(K.join(
            C, C.c.id == K.c.customer_id), exclude)).where(K.c.mobile == query.mobile, *extra)
            .distinct())
        out.append((stmt, K.c.customer_id))
    if query.last4:
        t = TOK.alias("m")
        out.append(_joined(t, [t.c.token == search.MOBILE + query.last4], extra,
                           need_doc=exclude is not None))
    return out


def _with(join, exclude):
    return join.join(D, D.c.customer_id == C.c.id) if exclude is not None else join


def _joined(t, tconds, extra, need_doc):
    extra = [c for c in extra if c is not NOT_MERGED]
    src = t.join(C, C.c.id == t.c.customer_id) if extra else t
    if need_doc:
        src = src.join(D, D.c.customer_id == t.c.customer_id)
    return select(t.c.customer_id.label("cid")).select_from(src).where(*tconds, *extra), \
        t.c.customer_id


def _probe_uscc(connection, lo, hi):
    sub = select(C.c.id).where(C.c.uscc >= lo, C.c.uscc < hi).limit(PROBE_CAP).subquery()
    return connection.execute(select(func.count()).select_from(sub)).scalar()


def export_ids(connection, filters, owner_scope, after_id, limit):
    """Up to ``limit`` matching ids above ``after_id`` in id order (exports)."""
    conds = conditions(filters, owner_scope)
    query = search.Query(filters.get("q") or "")
    if not query.empty:
        return _rest(connection, query, connection.dialect.name, conds, after_id, limit,
                     exclude=None)
    stmt = select(C.c.id).where(*conds)
    if after_id is not None:
        stmt = stmt.where(C.c.id > after_id)
    return list(connection.execute(stmt.order_by(C.c.id).limit(limit)).scalars())


def _rest(connection, query, dialect, conds, after_id, n, exclude):
    ids = set()
    for stmt, col in _streams(query, dialect, conds, connection, exclude=exclude):
        if after_id is not None:
            stmt = stmt.where(col > after_id)
        ids.update(connection.execute(stmt.order_by(col).limit(n)).scalars())
    return sorted(ids)[:n]


def _search_total(connection, query, dialect, conds, cap=paging.TOTAL_EXACT_UP_TO):
    streams = _streams(query, dialect, conds, connection)
    if len(streams) == 1:  # the usual case: count in the database, not 1,001 rows here
        stmt, col = streams[0]
        return paging.capped_total(connection, stmt, col, C.c.id, cap)
    union, bounds = set(), []
    for stmt, col in streams:
        got = connection.execute(stmt.order_by(col).limit(cap + 1)).scalars().all()
        union.update(got)
        if len(got) > cap:
            bounds.append(max(got))
    if not bounds:
        return len(union), False
    bound = min(bounds)
    counted = sum(1 for i in union if i <= bound)
    lo, hi = paging.id_span(connection, C.c.id)
    return paging.estimate_from_span(counted, bound, lo, hi), True


# --- the page's rows ----------------------------------------------------------------------
_FIELDS = ("id", "name", "uscc", "industry_code", "region", "scale", "annual_budget",
           "needs", "source_channel", "type", "owner_id", "tier", "influence",
           "cooperation_since", "lost_reason", "lost_note", "lost_at", "completeness",
           "created_at", "updated_at", "version")
_CONTACT = ("id", "name", "title", "mobile", "email", "birthday", "preferred_channel",
            "is_primary")


def _outputs_stmt(dialect):
    """customers ⟕ contacts (by contact id) + the tags as a JSON array, for many ids:
    one statement, one round trip (``repository.read``'s statement for a page)."""
    stmt = _OUT_STMTS.get(dialect)
    if stmt is None:
        agg = func.json_agg if dialect == "postgresql" else func.json_group_array
        tags = select(agg(T.c.tag)).where(T.c.customer_id == C.c.id).scalar_subquery()
        stmt = (select(*(C.c[f] for f in _FIELDS), tags.label("tags_json"),
                       *(K.c[f].label(f"k_{f}") for f in _CONTACT))
                .select_from(C.outerjoin(K, K.c.customer_id == C.c.id))
                .where(C.c.id.in_(bindparam("ids", expanding=True)))
                .order_by(C.c.id, K.c.id))
        _OUT_STMTS[dialect] = stmt
    return stmt


_OUT_STMTS = {}


def outputs(connection, ids, actor):
    """``repository.to_output`` dicts of ``ids``, in that order (one statement)."""
    if not ids:
        return []
    rows = {}
    n = len(_FIELDS)
    for r in connection.execute(_outputs_stmt(connection.dialect.name), {"ids": list(ids)}):
        got = rows.get(r[0])
        if got is None:
            got = rows[r[0]] = {f: r[i] for i, f in enumerate(_FIELDS)}
            tags = r[n]
            if isinstance(tags, str):
                tags = json.loads(tags)
            got["tags"] = sorted(t for t in tags or () if t is not None)
            got["contacts"] = []
        if r[n + 1] is not None:
            got["contacts"].append({f: r[n + 1 + i] for i, f in enumerate(_CONTACT)})
    out = []
    for cid in ids:
        r = rows.get(cid)
        if r is None:  # deleted between the two statements (PostgreSQL autocommit)
            continue
        if not (actor.is_system or actor.id == r["owner_id"]):
            r["contacts"] = [domain.mask_contact(c) for c in r["contacts"]]
        out.append(r)
    return out
