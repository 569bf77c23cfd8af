"""The duplicate check's cost (issue 20): per create and per 100k-row import.

In-process, on a customers database migrated to head and preloaded with ``--rows``
customers (one contact each; names drawn from a vocabulary so that same and similar
names occur as in real data), SQLite and PostgreSQL:

- per create: ``names.keys`` + ``duplicates.find`` for one new customer (what
  create_customer and update_customer add to their transaction), p50/p99 over
  ``--calls`` calls;
- per import: the same for 100,000 new rows in chunks of 500 (what import_customers
  adds: the keys of every row and three ``IN`` look-ups per chunk), seconds per 100k;
- the whole import (issue 20's < 60 s per 100k): ``commands.import_rows`` in-process,
  one unit of work per 500-row chunk as ``import_customers`` runs it (schema load,
  prepare, set-based inserts, audit, outbox, search rows, duplicate check), on the same
  preloaded database (its search rows included), ``--full-rows`` flat CSV rows with
  same and similar names; CPU of this process next to wall time, with the parts spent
  writing search rows and in the duplicate look-ups. No RPC, no broker: the service's
  figure is this plus the RPC path (R6 of ``python -m bench`` measures that).

CPU time is the figure to compare across runs (the box is shared: wall time swings
with its load, which is recorded at the start and at the end).

    .venv/bin/python -m bench.duplicates [--rows 100000] [--full-rows 20000] [--pg]
→ bench/results/duplicates.{json,md}
"""
import argparse
import datetime as dt
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from services.common.actors import Actor
from services.common.cli.demo import make_uscc
from services.common.db import raw_cursor, with_driver
from services.common.migrate import upgrade
from services.common.uow import Database
from services.customers import commands, duplicates, names, search
from services.customers.models import Base, Contact, Customer

RESULTS = Path(__file__).parent / "results"
CITIES = ("上海", "北京", "深圳", "杭州", "苏州", "广州", "成都", "武汉")
WORDS = ("科技", "机械", "贸易", "电子", "精密", "纺织", "化工", "物流", "医疗", "食品",
         "建材", "能源", "环保", "软件", "汽车", "光电", "材料", "仪器", "服饰", "家居")
FORMS = ("有限公司", "有限责任公司", "股份有限公司", "集团有限公司")
# 64 characters: 4,096 two-character brands x 20 trades = 81,920 similar keys: some rows of
# a 100k table have a same or similar name in the same city, as in real data
CHARS = ("蓝天海川宏达腾飞华信恒远鑫盛瑞丰嘉诚博雅金泰永安德隆富康昌明凯旋中联新元"
         "正和东方宇星光辉锦绣龙凤美佳同创利民顺祥晨阳智合普惠天成万")


def company(rng):
    brand = "".join(rng.choice(CHARS) for _ in range(2))
    city = rng.choice(CITIES)
    name = f"{city}{brand}{rng.choice(WORDS)}{rng.choice(FORMS)}"
    return name, city


def preload(url, rows, seed=5):
    engine = create_engine(with_driver(url))
    rng = random.Random(seed)
    now = dt.datetime.now(dt.timezone.utc)
    cust, cont = Customer.__table__, Contact.__table__
    with engine.begin() as conn:
        for start in range(0, rows, 5000):
            batch = []
            for n in range(start + 1, min(rows, start + 5000) + 1):
                name, city = company(rng)
                batch.append(dict(name=name, uscc=f"9131{n:014d}", industry_code="C35",
                                  region=city, type="potential", owner_id=f"u{n % 50}",
                                  tier="normal", completeness=0.5, created_at=now,
                                  updated_at=now, version=1, **names.keys(name, city)))
            conn.execute(cust.insert(), batch)
            ids = conn.execute(text("SELECT id FROM customers WHERE uscc >= :a ORDER BY id"),
                               {"a": f"9131{start + 1:014d}"}).scalars().all()
            contacts = [{"customer_id": i, "name": "张伟", "is_primary": True,
                         "mobile": f"13{rng.randint(0, 10**9 - 1):09d}"} for i in ids]
            conn.execute(cont.insert(), contacts)
            # their search rows, as the create path writes them (the import's index
            # inserts go into a b-tree of this size)
            plans = [{"record": {"id": i, "name": b["name"]}, "tags": [],
                      "contacts": [c]} for i, b, c in zip(ids, batch, contacts, strict=True)]
            cur = raw_cursor(conn)
            search.insert_raw(conn.dialect, cur, *search.rows_for_plans(plans))
            cur.close()
        if engine.dialect.name == "sqlite":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE customers"))
            conn.execute(text("ANALYZE contacts"))
    return engine


def probes_for(rng, n):
    out = []
    for i in range(n):
        name, city = company(rng)
        out.append((name, city, [{"mobile": f"13{rng.randint(0, 10**9 - 1):09d}"}], i))
    return out


def per_create(engine, calls, rng):
    times, found = [], 0
    with engine.connect() as conn:
        cpu0 = time.process_time()
        for name, city, contacts, _ in probes_for(rng, calls):
            t0 = time.perf_counter()
            got = duplicates.find(conn, [duplicates.probe(-1, name, city, contacts)])[0]
            times.append((time.perf_counter() - t0) * 1000)
            found += bool(got)
        cpu = time.process_time() - cpu0
    times.sort()
    return {"calls": calls, "p50_ms": round(statistics.median(times), 3),
            "client_cpu_ms_per_check": round(cpu * 1000 / calls, 3),
            "p99_ms": round(times[int(0.99 * (len(times) - 1))], 3),
            "with_candidates_pct": round(100 * found / calls, 1)}


def per_import(engine, rows, rng, chunk=500):
    probes = probes_for(rng, rows)
    keys_s = find_s = keys_cpu = find_cpu = 0.0
    warned = 0
    with engine.connect() as conn:
        for start in range(0, rows, chunk):
            part = probes[start:start + chunk]
            t0, c0 = time.perf_counter(), time.process_time()
            ps = [duplicates.probe(-1 - i, name, city, contacts)
                  for name, city, contacts, i in part]
            t1, c1 = time.perf_counter(), time.process_time()
            out = duplicates.find(conn, ps)
            t2, c2 = time.perf_counter(), time.process_time()
            keys_s += t1 - t0
            find_s += t2 - t1
            keys_cpu += c1 - c0
            find_cpu += c2 - c1
            warned += sum(1 for d in out if d)
    scale = 100000 / rows
    return {"rows": rows, "chunk": chunk, "keys_s_per_100k": round(keys_s * scale, 2),
            "lookups_s_per_100k": round(find_s * scale, 2),
            "total_s_per_100k": round((keys_s + find_s) * scale, 2),
            "client_cpu_s_per_100k": {"keys": round(keys_cpu * scale, 2),
                                      "lookups": round(find_cpu * scale, 2)},
            "rows_warned_pct": round(100 * warned / rows, 1)}


IMPORTER = Actor({"id": "bench-dup-m1", "roles": ["manager"], "department": "sales"})


def import_csv_rows(rng, n):
    """Flat ``import_customers`` rows (every column filled, as R6's CSV) with names from
    ``company``: same and similar names in the same city occur, in the file and against
    the preloaded customers."""
    out, seen = [], set()
    for i in range(n):
        uscc = make_uscc(rng, rng.choice(("310000", "110000", "440300", "330100")))
        while uscc in seen:
            uscc = make_uscc(rng, "320100")
        seen.add(uscc)
        name, city = company(rng)
        out.append({"name": name, "uscc": uscc, "industry_code": "F51", "region": city,
                    "scale": "small", "annual_budget": "50000.00", "needs": "采购数控设备",
                    "source_channel": "trade_show", "type": "potential",
                    "owner_id": "bench-dup-m1", "tags": "展会获取;老客户",
                    "contact_name": rng.choice(("张伟", "王芳", "李娜", "刘洋")),
                    "contact_title": "经理",
                    "contact_mobile": f"138{rng.randint(0, 10**8 - 1):08d}",
                    "contact_email": f"c{i}@example.cn"})
    return out


class _Timed:
    """Adds the CPU and wall time of calls to ``module.name`` (restored by ``undo``)."""

    def __init__(self, module, name):
        self.module, self.name, self.orig = module, name, getattr(module, name)
        self.cpu = self.wall = 0.0

        def timed(*args, **kwargs):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return self.orig(*args, **kwargs)
            finally:
                self.wall += time.perf_counter() - t0
                self.cpu += time.process_time() - c0
        setattr(module, name, timed)

    def undo(self):
        setattr(self.module, self.name, self.orig)


def _proc_cpu(pid):
    """user + system CPU seconds of a local process (a PostgreSQL backend), or None."""
    import os
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_import_full(url, rows, rng, chunk=500):
    """``commands.import_rows`` per chunk in its own unit of work (as import_customers)."""
    data = import_csv_rows(rng, rows)
    db = Database(Base)
    db.container = type("Container", (), {"service_name": "customers", "config": {
        "DB_URIS": {"customers": url}, "AMQP_URI": "memory://"}})()
    db.setup()
    when = dt.datetime.now(dt.timezone.utc)
    parts = {"search_rows": _Timed(commands, "_write_search"),
             "duplicate_lookups": _Timed(duplicates, "find")}
    created = warned = errors = 0
    server = {}  # PostgreSQL backend pid -> its CPU seconds when first used
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        for start in range(0, rows, chunk):
            with db.unit_of_work(actor_id=IMPORTER.label) as uow:
                if uow.connection.dialect.name == "postgresql":
                    pid = uow.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
                    server.setdefault(pid, _proc_cpu(pid))
                out = commands.import_rows(uow, IMPORTER, data[start:start + chunk], when)
                uow.commit()
            created += out["created"]
            errors += len(out["errors"])
            warned += len({d["row"] for d in out["duplicates"]})
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        server_cpu = None
        if server and None not in server.values():
            server_cpu = sum(_proc_cpu(pid) - c for pid, c in server.items())
    finally:
        for t in parts.values():
            t.undo()
        db.engine.dispose()
    scale = 100000 / rows
    return {"rows": rows, "chunk": chunk, "created": created, "errors": errors,
            "rows_warned_pct": round(100 * warned / rows, 1),
            "wall_s_per_100k": round(wall * scale, 1), "cpu_s_per_100k": round(cpu * scale, 1),
            "server_cpu_s_per_100k": None if server_cpu is None else round(server_cpu * scale, 1),
            "parts_cpu_s_per_100k": {k: round(t.cpu * scale, 2) for k, t in parts.items()},
            "parts_wall_s_per_100k": {k: round(t.wall * scale, 2) for k, t in parts.items()},
            "target_s_per_100k": 60}


def plans(engine):
    out = {}
    stmts = {"same_name": ("SELECT id, name FROM customers WHERE name_key IN ('a', 'b') "
                           "AND merged_into_id IS NULL"),
             "similar_name": ("SELECT id, name, region FROM customers WHERE similar_key IN "
                              "('a', 'b') AND merged_into_id IS NULL"),
             "same_mobile": ("SELECT c.id FROM contacts k JOIN customers c ON c.id = "
                             "k.customer_id WHERE k.mobile IN ('13800000000', '13900000000') "
                             "AND c.merged_into_id IS NULL")}
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        for key, sql in stmts.items():
            rows = conn.execute(text(prefix + sql)).all()
            out[key] = [str(r[-1]) if engine.dialect.name == "sqlite" else str(r[0])
                        for r in rows]
    return out


def run_backend(label, url, rows, calls, import_rows, full_rows=0):
    upgrade("customers", url)
    t0 = time.time()
    engine = preload(url, rows)
    loaded = time.time() - t0
    rng = random.Random(99)
    res = {"backend": label, "preloaded_customers": rows, "preload_s": round(loaded, 1),
           "per_create": per_create(engine, calls, rng),
           "per_import": per_import(engine, import_rows, rng), "plans": plans(engine)}
    engine.dispose()
    if full_rows:
        res["import_full"] = per_import_full(url, full_rows, random.Random(7))
    return res


def pg_url(name):
    admin = create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def drop_pg(name):
    admin = create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _verdict(seconds, target=60):
    return f"{'✓' if seconds < target else '✗'} (< {target} s)"


def markdown(res):
    load0 = res.get("loadavg_at_start")
    lines = [f"# Duplicate check and import cost (issue 20), {res['at']}, {res['cpus']} CPUs, "
             + (f"load average at the start {load0}, " if load0 else "")
             + f"at the end {res['loadavg_at_end']}", "",
             "In-process, customers preloaded; keys = names.keys per row, look-ups = "
             "duplicates.find (three indexed IN statements per batch).", "",
             "| backend | preloaded | per create p50 / p99 (ms) | per create, CPU of this "
             "process (ms) | per 100k-row import: keys + look-ups = total (s) | the same, CPU "
             "of this process: keys + look-ups (s) | rows warned |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in res["runs"]:
        c, i = r["per_create"], r["per_import"]
        cpu = i["client_cpu_s_per_100k"]
        lines.append(f"| {r['backend']} | {r['preloaded_customers']:,} | {c['p50_ms']} / "
                     f"{c['p99_ms']} | {c['client_cpu_ms_per_check']} | "
                     f"{i['keys_s_per_100k']} + {i['lookups_s_per_100k']} = "
                     f"{i['total_s_per_100k']} | {cpu['keys']} + {cpu['lookups']} | "
                     f"{i['rows_warned_pct']} % |")
    full = [r for r in res["runs"] if r.get("import_full")]
    if full:
        lines += ["", "The whole import in-process (`commands.import_rows`, one unit of work "
                  "per 500-row chunk; no RPC), per 100k rows, against the target < 60 s:", "",
                  "| backend | rows imported | CPU of this process (s) | CPU of the database "
                  "server (s) | wall (s) | of this process's CPU: search rows + duplicate "
                  "look-ups (s) | the same, wall (s) | rows warned | CPU (this process + "
                  "server) vs < 60 s | wall vs < 60 s |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
        for r in full:
            f = r["import_full"]
            pc, pw = f["parts_cpu_s_per_100k"], f["parts_wall_s_per_100k"]
            srv = f.get("server_cpu_s_per_100k")
            both = round(f["cpu_s_per_100k"] + (srv or 0), 1)
            lines.append(f"| {r['backend']} | {f['rows']:,} ({f['errors']} errors) | "
                         f"{f['cpu_s_per_100k']} | {'in-process' if srv is None else srv} | "
                         f"{f['wall_s_per_100k']} | "
                         f"{pc['search_rows']} + {pc['duplicate_lookups']} | "
                         f"{pw['search_rows']} + {pw['duplicate_lookups']} | "
                         f"{f['rows_warned_pct']} % | {both}: {_verdict(both)} | "
                         f"{_verdict(f['wall_s_per_100k'])} |")
    for r in res["runs"]:
        lines += ["", f"Plans ({r['backend']}):", ""]
        for k, p in r["plans"].items():
            lines.append(f"- {k}: " + " / ".join(p))
    return "\n".join(lines) + "\n"


def run(rows=100000, calls=2000, import_rows=100000, pg=True, full_rows=20000):
    """Both backends (PostgreSQL when ``pg``) → the results dict written by ``write``."""
    import os
    load_start = [round(x, 1) for x in os.getloadavg()]
    runs = []
    with tempfile.TemporaryDirectory(prefix="crm-bench-dup-") as tmp:
        runs.append(run_backend("sqlite", f"sqlite:///{tmp}/customers.db", rows, calls,
                                import_rows, full_rows))
    if pg:
        name = "crm_bench_duplicates"
        try:
            runs.append(run_backend("postgresql", pg_url(name), rows, calls, import_rows,
                                    full_rows))
        finally:
            drop_pg(name)
    return {"at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "cpus": os.cpu_count(), "loadavg_at_start": load_start,
            "loadavg_at_end": [round(x, 1) for x in os.getloadavg()], "runs": runs}


def figures(res):
    """The flat figures ``python -m bench`` adds to latest.json (rows in its table)."""
    out = {}
    for r in res["runs"]:
        c, i = r["per_create"], r["per_import"]
        n = f"{r['preloaded_customers'] // 1000}k"
        out[f"duplicates create {r['backend']} {n}"] = {
            "p50_ms": c["p50_ms"], "p99_ms": c["p99_ms"],
            "cpu_ms": c["client_cpu_ms_per_check"]}
        out[f"duplicates import {r['backend']} {n}"] = {
            "s_per_100k": i["total_s_per_100k"],
            "cpu_s_per_100k": round(sum(i["client_cpu_s_per_100k"].values()), 2),
            "rows_warned_pct": i["rows_warned_pct"]}
        f = r.get("import_full")
        if f:
            out[f"import in-process {r['backend']} {n}"] = {
                "s_per_100k": f["wall_s_per_100k"], "cpu_s_per_100k": f["cpu_s_per_100k"],
                "rows": f["rows"]}
    return out


def write(res, out=RESULTS):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "duplicates.json").write_text(json.dumps(res, ensure_ascii=False, indent=1),
                                         encoding="utf-8")
    (out / "duplicates.md").write_text(markdown(res), encoding="utf-8")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.duplicates", description=__doc__)
    ap.add_argument("--rows", type=int, default=100000, help="customers preloaded")
    ap.add_argument("--calls", type=int, default=2000, help="single-create checks timed")
    ap.add_argument("--import-rows", type=int, default=100000)
    ap.add_argument("--full-rows", type=int, default=20000,
                    help="rows of the whole in-process import (0: skip it)")
    ap.add_argument("--pg", action="store_true", help="PostgreSQL too")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    res = run(args.rows, args.calls, args.import_rows, args.pg, args.full_rows)
    write(res, args.out)
    print(markdown(res))


if __name__ == "__main__":
    main()
