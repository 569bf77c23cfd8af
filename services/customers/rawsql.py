"""Multi-row inserts on the raw DB-API cursor of the current transaction.

SQLAlchemy's per-execute work (compiled cache, parameter processing per row,
result set-up) was the largest part of ``create_customer``'s and the import's own
CPU. The statements here are compiled once per dialect by SQLAlchemy and the values
converted with the columns' own bind processors, so what lands in the database is
exactly what an ``insert()`` through SQLAlchemy writes.
"""
from sqlalchemy import insert

_cache = {}


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

    def insert_returning(self, cursor, rows):
        """One multi-row ``INSERT … VALUES (…), (…) RETURNING …`` → the returned rows
        (positional dialects only need the tuples flattened; named ones get suffixes)."""
        if not rows:
            return []
        if self.positional:
            sql = (f"{self._head} VALUES " + ", ".join([self._row_sql] * len(rows))
                   + (f" RETURNING {self._returning}" if self._returning else ""))
            params = tuple(v for r in rows for v in self.params(r))
        else:
            parts, params = [], {}
            for i, r in enumerate(rows):
                p = self.params(r)
                part = self._row_sql
                for b in sorted(p, key=len, reverse=True):
                    part = part.replace(f"%({b})s", f"%({b}_{i})s")
                parts.append(part)
                params.update({f"{b}_{i}": v for b, v in p.items()})
            sql = (f"{self._head} VALUES " + ", ".join(parts)
                   + (f" RETURNING {self._returning}" if self._returning else ""))
        cursor.execute(sql, params)
        return cursor.fetchall() if self._returning else []


def raw_insert(table, dialect, returning=()):
    key = (table.name, dialect.name, tuple(returning))
    got = _cache.get(key)
    if got is None:
        got = _cache[key] = RawInsert(table, dialect, returning)
    return got
