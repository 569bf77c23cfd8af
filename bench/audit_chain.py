"""Audit trail figures (docs/reliability.md): append rate, verify of the whole chain and
of one record, on SQLite and PostgreSQL, in a database of its own.

    .venv/bin/python -m bench.audit_chain [--entries 100000] [--postgres]
"""
import argparse
import tempfile
import time

from services.common import audit
from services.common.db import make_engine
from services.common.migrate import upgrade


def run(url, n, batch=1000):
    upgrade("sales", url)
    from services.sales.models import Base
    engine = make_engine(url)  # the services' engine (WAL on SQLite, psycopg2 green)
    auditor = audit.Auditor(Base, b"k" * 32, "sales")
    t0 = time.perf_counter()
    for i in range(0, n, batch):
        with engine.begin() as conn:
            auditor.record(conn, [{"record_type": "order", "record_id": str(j % 5000),
                                   "action": "updated", "before": {"status": "placed"},
                                   "after": {"status": "shipped", "amount": "1200.50"}}
                                  for j in range(i, i + batch)], actor="bench")
    append = time.perf_counter() - t0
    singles = 1000  # one entry per transaction, as an RPC write appends it
    t0 = time.perf_counter()
    for j in range(singles):
        with engine.begin() as conn:
            auditor.record(conn, [{"record_type": "order", "record_id": str(j % 5000),
                                   "action": "updated", "before": {"status": "placed"},
                                   "after": {"status": "shipped"}}], actor="bench")
    single_ms = (time.perf_counter() - t0) / singles * 1000
    n += singles
    with engine.connect() as conn:
        t0 = time.perf_counter()
        whole = auditor.verify_chain(conn)
        chain_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        one = auditor.verify_record(conn, "order", "42")
        record_s = time.perf_counter() - t0
    assert whole["valid"] and one["valid"]
    return {"entries": n, "append_per_s": round((n - singles) / append),
            "single_entry_txn_ms": round(single_ms, 2), "verify_chain_s": round(chain_s, 2),
            "verify_record_ms": round(record_s * 1000, 1), "record_entries": one["entries"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--postgres", action="store_true")
    args = ap.parse_args()
    if args.postgres:
        from tests.support.infra import PgDatabases
        dbs = PgDatabases(["audit"])
        url = dbs.create()["audit"]
        try:
            print("postgresql", run(url, args.entries))
        finally:
            dbs.drop()
    else:
        folder = tempfile.mkdtemp(prefix="crm-audit-")
        print("sqlite", run(f"sqlite:///{folder}/audit.db", args.entries))


if __name__ == "__main__":
    main()
