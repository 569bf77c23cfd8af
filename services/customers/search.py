"""Customer search: a bigram posting table that works the same on SQLite and PostgreSQL.

Why bigrams (measured, docs/performance.md): Chinese company names are searched by
two-character fragments (``科技``, ``北京``) that a trigram index (pg_trgm, SQLite FTS5's
trigram tokenizer) cannot serve; FTS5's trigram ``LIKE`` is also wrong on SQLite 3.40.1.
Every searched field is normalised (``norm``: NFKC — full width → half width —,
lower case, whitespace runs → one space, control characters dropped) and indexed as

- every bigram (two consecutive characters) of each value → ``customer_search_tokens``
  (token, customer_id), a WITHOUT ROWID b-tree on SQLite, a primary key on PostgreSQL;
- ``\\x02`` + the first character of each value (one-character searches match a value
  that starts with it);
- ``\\x03`` + the last four digits of each contact mobile (last-4 search);
- the name alone (``customer_search.name_norm``, exact and prefix ranking) and all
  values joined by newlines (``customer_search.doc``, the substring check).

Matching (the contract, tests/unit/customers/test_search_reference.py writes it again
as a brute-force filter): with ``t = norm(q)``, a customer matches when

- ``len(t) >= 2`` and ``t`` is a substring of its name, needs, a contact's name or a
  tag; or ``len(t) == 1`` and one of those starts with ``t``;
- ``t.upper()`` is 4 to 18 letters/digits and its USCC starts with it;
- ``t`` is 11 digits equal to a contact mobile, or 4 digits ending one.

A query of several bigrams is answered from the rarest one's postings (the others are
index probes, then the substring check on ``doc``), so its cost follows the rarest
bigram, not the table size. ``%`` and ``_`` are ordinary characters (no LIKE is used).
"""
import functools
import re
import unicodedata
from operator import itemgetter

from sqlalchemy import and_, delete, exists, func, select

from services.customers.models import Contact, Customer, CustomerTag, SearchDoc, SearchToken

SEP = "\n"
START, MOBILE = "\x02", "\x03"
_WS = re.compile(r"\s+")
_USCC_PART = re.compile(r"[0-9A-Z]{4,18}")
_CTRL = {c: None for c in range(32)} | {127: None}


def norm(text):
    """NFKC, lower case, whitespace runs → one space, no control characters."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", str(text)).lower()
    text = _WS.sub(" ", text).translate(_CTRL)
    return text.strip()


def bigrams(value):
    return {value[i:i + 2] for i in range(len(value) - 1)}


def values(name, needs, contact_names, tags):
    """The normalised searched values (name first), empties dropped."""
    out = [norm(name)]
    out += [v for v in (norm(needs), *(norm(n) for n in contact_names),
                        *(norm(t) for t in tags)) if v]
    return out


def tokens(vals, mobiles):
    toks = set()
    for v in vals:
        if v:
            toks |= _value_tokens(v)
    for m in mobiles:
        if m and len(m) >= 4:
            toks.add(MOBILE + m[-4:])
    return toks


@functools.lru_cache(maxsize=16384)
def _value_tokens(value):
    """Bigrams and the start token of one normalised value (frozen: cached, because
    tags, contact names and needs repeat across an import)."""
    return frozenset({value[i:i + 2] for i in range(len(value) - 1)} | {START + value[0]})


@functools.lru_cache(maxsize=16384)
def _norm_cached(text):
    return norm(text)


def document(name, needs, contact_names, tags, mobiles):
    """(customer_search row values, token set) of one customer."""
    vals = values(name, needs, contact_names, tags)
    return {"name_norm": vals[0][:200], "doc": SEP.join(vals)}, tokens(vals, mobiles)


# --- index maintenance ----------------------------------------------------------------
DOCS, TOKENS = SearchDoc.__table__, SearchToken.__table__
DOC_COLS, TOKEN_COLS = ("customer_id", "name_norm", "doc"), ("token", "customer_id")


def _row(cid, name, needs, contact_names, tags, mobiles):
    """(doc tuple, token set) of one customer: ``document`` with the short, repeated
    values (contact names, tags, needs) normalised and split once per process."""
    vals = [norm(name)]
    vals += [v for v in (_norm_cached(needs) if needs else "",
                         *(_norm_cached(n) if n else "" for n in contact_names),
                         *(_norm_cached(t) if t else "" for t in tags)) if v]
    return (cid, vals[0][:200], SEP.join(vals)), tokens(vals, mobiles)


def rows_for_plans(plans):
    """(doc rows, token rows) of customers about to be inserted (``commands`` plans), as
    tuples in ``DOC_COLS`` / ``TOKEN_COLS`` order; the token rows in key order."""
    docs, toks = [], []
    for p in plans:
        r, contacts = p["record"], p["contacts"]
        doc, tk = _row(r["id"], r["name"], r.get("needs"), [c.get("name") for c in contacts],
                       p["tags"], [c.get("mobile") for c in contacts])
        docs.append(doc)
        cid = doc[0]
        toks += [(t, cid) for t in tk]
    return docs, _key_order(toks)


def _key_order(toks):
    """(token, customer_id) rows in key order: consecutive inserts land on the same
    b-tree pages (-15 % of SQLite's insert CPU at 100k customers). Stable sort on the
    token alone: rows of one token keep their customer order (ascending when built
    customer by customer in id order; otherwise sorted fully)."""
    ids = [cid for _, cid in toks]
    if ids != sorted(ids):
        return sorted(toks)
    return sorted(toks, key=itemgetter(0))


def insert_raw(dialect, cursor, docs, toks):
    """Write search rows (tuples in ``DOC_COLS`` / ``TOKEN_COLS`` order, as
    ``rows_for_plans`` gives them) on a raw DB-API cursor of the current transaction:
    one executemany per table on SQLite (a C loop over prepared inserts), one
    ``INSERT … SELECT * FROM unnest(arrays)`` per 20,000 rows on PostgreSQL."""
    for table, cols, rows in (("customer_search", DOC_COLS, docs),
                              ("customer_search_tokens", TOKEN_COLS, toks)):
        if not rows:
            continue
        if dialect.name == "sqlite":
            cursor.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ("
                               + ", ".join("?" * len(cols)) + ")", rows)
            continue
        # PostgreSQL: one array per column, unnest()ed by the server (COPY would be
        # cheaper but cannot run under psycogreen)
        for start in range(0, len(rows), 20000):
            cursor.execute(*_pg_unnest(table, cols, rows[start:start + 20000]))


_UNIT = "\x1f"  # norm() drops every control character: no value holds it
_PG_TYPES = {"customer_id": "bigint[]", "name_norm": "text[]", "doc": "text[]",
             "token": "text[]"}


def _pg_unnest(table, cols, rows):
    """(sql, params) of ``INSERT … SELECT * FROM unnest(…)``. Each column goes as ONE
    text parameter split by the server (``string_to_array``): psycopg2 adapts a Python
    list item by item (6.5 s of client CPU per 100k customers' postings against 0.5 s
    for the joined string). A text value holding the separator (never, after ``norm``)
    falls back to a real array parameter."""
    exprs, params = [], []
    for name, col in zip(cols, zip(*rows, strict=True), strict=True):
        if _PG_TYPES[name] == "bigint[]":
            exprs.append("string_to_array(%s, ',')::bigint[]")
            params.append(",".join(map(str, col)))
            continue
        joined = _UNIT.join(col)
        if joined.count(_UNIT) == len(col) - 1:
            exprs.append("string_to_array(%s, E'\\x1f')")
            params.append(joined)
        else:
            exprs.append("%s::text[]")
            params.append(list(col))
    return (f"INSERT INTO {table} ({', '.join(cols)}) SELECT * FROM unnest({', '.join(exprs)})",
            params)


def reindex(connection, customer_ids):
    """Rebuild the search rows of these customers from their current rows (call it in the
    same transaction after any change of name, needs, contacts or tags — a merge too)."""
    ids = sorted({int(i) for i in customer_ids})
    if not ids:
        return
    live = Customer.id.in_(ids)
    if hasattr(Customer, "merged_into_id"):  # a merged customer leaves the index
        live = and_(live, Customer.merged_into_id.is_(None))
    found = {r.id: [r.name, r.needs, [], [], []] for r in connection.execute(
        select(Customer.id, Customer.name, Customer.needs).where(live))}
    for cid, name, mobile in connection.execute(
            select(Contact.customer_id, Contact.name, Contact.mobile)
            .where(Contact.customer_id.in_(ids)).order_by(Contact.id)):
        if cid in found:
            found[cid][2].append(name)
            found[cid][4].append(mobile)
    for cid, tag in connection.execute(
            select(CustomerTag.customer_id, CustomerTag.tag)
            .where(CustomerTag.customer_id.in_(ids))):
        if cid in found:
            found[cid][3].append(tag)
    connection.execute(delete(TOKENS).where(TOKENS.c.customer_id.in_(ids)))
    connection.execute(delete(DOCS).where(DOCS.c.customer_id.in_(ids)))
    docs, toks = [], []
    for cid, (name, needs, cnames, tags, mobiles) in found.items():
        doc, tk = _row(cid, name, needs, cnames, tags, mobiles)
        docs.append(dict(zip(DOC_COLS, doc, strict=True)))
        toks += [{"token": t, "customer_id": cid} for t in sorted(tk)]
    if docs:
        connection.execute(DOCS.insert(), docs)
    if toks:
        connection.execute(TOKENS.insert(), toks)


def backfill(connection, batch=2000):
    """Index every customer that has no search row yet (migration, restore)."""
    last = 0
    while True:
        ids = connection.execute(
            select(Customer.id).where(Customer.id > last, ~exists().where(
                DOCS.c.customer_id == Customer.id)).order_by(Customer.id).limit(batch)
        ).scalars().all()
        if not ids:
            return
        reindex(connection, ids)
        last = ids[-1]


# --- the query's parts -----------------------------------------------------------------
class Query:
    """A normalised search string and what it can match."""

    def __init__(self, q):
        self.counts = None  # bigram → postings counted up to a cap (listing)
        self.text = norm(q)
        compact = self.text.replace(" ", "").replace("-", "")
        upper = self.text.upper().replace(" ", "")
        self.uscc_exact = upper if len(upper) == 18 and _USCC_PART.fullmatch(upper) else None
        self.uscc_prefix = upper if _USCC_PART.fullmatch(upper) else None
        self.mobile = compact if compact.isdigit() and compact.isascii() \
            and len(compact) == 11 else None
        self.last4 = compact if compact.isdigit() and compact.isascii() \
            and len(compact) == 4 else None
        if len(self.text) >= 2:
            self.grams = sorted(bigrams(self.text))
        elif self.text:
            self.grams = [START + self.text]
        else:
            self.grams = []

    @property
    def empty(self):
        return not self.text

    def name_range(self):
        """(low, high) bounds of the names that start with the text (byte order)."""
        return self.text, self.text + "\U0010ffff"


def contains(dialect, haystack, needle):
    """``needle`` is a substring of ``haystack`` (no LIKE: ``%`` and ``_`` are plain)."""
    fn = func.strpos if dialect == "postgresql" else func.instr
    return fn(haystack, needle) > 0


def token_probe(connection, token, cap):
    """How many customers carry ``token``, counted up to ``cap``."""
    sub = select(TOKENS.c.customer_id).where(TOKENS.c.token == token).limit(cap).subquery()
    return connection.execute(select(func.count()).select_from(sub)).scalar()


def text_match(query, dialect, driver, others):
    """(FROM clause pieces, conditions) of the bigram stream driven by ``driver``."""
    t = TOKENS.alias("t")
    conds = [t.c.token == driver]
    for g in others:
        o = TOKENS.alias()
        conds.append(exists().where(and_(o.c.token == g, o.c.customer_id == t.c.customer_id)))
    if len(query.text) > 2:  # several bigrams: check they are consecutive (and all there)
        conds.append(contains(dialect, DOCS.c.doc, query.text))
    return t, conds
