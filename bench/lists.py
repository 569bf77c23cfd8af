"""``list_customers`` at 100k and 1M customers, PostgreSQL and SQLite (issue 20's table).

    .venv/bin/python -m bench.lists [--sizes 100k,1M] [--backends sqlite,postgresql]
                                    [--only CASE,...] [--calls 200] [--fresh]

Data is written straight into the customers schema (after ``alembic upgrade``): secondary
indexes are dropped, rows bulk-inserted (SQLite ``executemany`` in one transaction,
PostgreSQL ``COPY``), indexes rebuilt, then ANALYZE — the way R5 loads its 10M events,
minutes instead of hours. Per customer: 1.5 contacts, 1.8 tags, a needs line; 37.5% of the
names contain 科技, 20 contain 瀚海蓝天. The databases are kept for the next run under
``var/bench-cache`` (SQLite files) and as ``crm_bench_lists_<size>`` (PostgreSQL); --fresh
rebuilds them. The calls are ``CustomersService.list_customers`` in-process (schema load,
read-only unit of work, search, paging, output), timed one after another.
"""
import argparse
import datetime as dt
import io
import json
import os
import random
import statistics
import sys
import time

from services.common.config import ROOT

CACHE = ROOT / "var" / "bench-cache"
RESULTS = ROOT / "bench" / "results"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SIZES = {"100k": 100_000, "1M": 1_000_000}
TARGET_MS = {"postgresql": 50.0, "sqlite": 100.0}
MANAGER = {"id": "m1", "roles": ["manager"], "department": "management"}
REGIONS = ["北京", "上海", "深圳", "广州", "杭州", "成都", "武汉", "南京", "西安", "苏州",
           "天津", "重庆", "长沙", "郑州", "青岛", "厦门"]
WORDS = ["华信", "鼎盛", "恒通", "宏远", "金桥", "新元", "博雅", "东方", "万达", "天成",
         "汇丰", "龙腾", "瑞丰", "佳和", "德润", "中天", "远航", "明辉", "星河", "锦程",
         "正泰", "永安", "嘉禾", "光大", "盛世", "宇通", "华夏", "安信", "泰和", "聚源"]
KINDS = ["贸易", "制造", "咨询", "物流", "电子", "建设", "传媒", "医药", "能源", "食品"]
SUFFIX = ["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"]
TAGS = ["高潜力客户", "老客户", "重点客户", "政府关系", "价格敏感", "技术导向", "长期合作",
        "新签约", "待回访", "展会来源", "转介绍", "大客户", "中小企业", "华东", "华南",
        "华北", "制造业", "互联网", "外资", "国企"]
NEEDS = ["需要CRM系统", "扩产采购设备", "数字化转型咨询", "年度框架采购", "降低物流成本",
         "寻找新供应商", "升级生产线", "海外市场拓展", "数据分析服务", "员工培训"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛",
         "明", "超", "秀英", "华", "建国", "丽"]
INDUSTRIES = ["C35", "I65", "F51", "G54", "M73", "C39", "I64", "L72"]
RARE = "瀚海蓝天"


def customer_rows(n, seed=20):
    """Yield (customer, contacts, tags) dicts for ids 1..n (deterministic)."""
    rng = random.Random(seed)
    start = dt.datetime(2016, 1, 1, tzinfo=dt.UTC)
    span = 10 * 365 * 86400
    rare_ids = set(rng.sample(range(1, n + 1), 20))
    for i in range(1, n + 1):
        region = rng.choice(REGIONS)
        if i in rare_ids:
            core = RARE
        else:
            core = rng.choice(WORDS) + rng.choice(WORDS)
        kind = "科技" if rng.random() < 0.375 else rng.choice(KINDS)
        name = f"{region}{core}{kind}{rng.choice(SUFFIX)}"
        if rng.random() < 0.3:
            name = f"{region}{core}{kind}{i % 997}号{rng.choice(SUFFIX)}"
        created = start + dt.timedelta(seconds=span * i // n)
        cust = {"id": i, "name": name, "uscc": f"91{i:016d}",
                "industry_code": rng.choice(INDUSTRIES), "region": region,
                "needs": rng.choice(NEEDS), "type": rng.choice(("potential", "closed", "lost")),
                "owner_id": f"u{rng.randrange(1, 301)}",
                "tier": rng.choice(("normal", "normal", "normal", "gold", "platinum")),
                "completeness": 0.75, "created_at": created,
                "updated_at": created + dt.timedelta(days=rng.randrange(0, 300)), "version": 1}
        contacts = []
        for k in range(1 if rng.random() < 0.5 else 2):
            contacts.append({"customer_id": i, "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                             "title": "经理", "mobile": f"1{rng.randrange(3, 10)}"
                             f"{rng.randrange(0, 10**9):09d}", "is_primary": k == 0})
        k = 1 if rng.random() < 0.2 else (2 if rng.random() < 0.75 else 3)
        tags = sorted(set(rng.sample(TAGS, k)))[:3]
        yield cust, contacts, tags


_COLS = {
    "customers": ("id", "name", "uscc", "industry_code", "region", "needs", "type", "owner_id",
                  "tier", "completeness", "created_at", "updated_at", "version"),
    "contacts": ("customer_id", "name", "title", "mobile", "is_primary"),
    "customer_tags": ("customer_id", "tag"),
    "customer_search": ("customer_id", "name_norm", "doc"),
    "customer_search_tokens": ("token", "customer_id"),
}


def _batches(n, size=50_000):
    from services.customers import search
    out = {t: [] for t in _COLS}
    for cust, contacts, tags in customer_rows(n):
        out["customers"].append(cust)
        out["contacts"] += contacts
        out["customer_tags"] += [{"customer_id": cust["id"], "tag": t} for t in tags]
        doc, toks = search.document(cust["name"], cust["needs"],
                                    [c["name"] for c in contacts], tags,
                                    [c["mobile"] for c in contacts])
        out["customer_search"].append({"customer_id": cust["id"], **doc})
        out["customer_search_tokens"] += [{"token": t, "customer_id": cust["id"]}
                                          for t in toks]
        if len(out["customers"]) >= size:
            yield out
            out = {t: [] for t in _COLS}
    if out["customers"]:
        yield out


def load_sqlite(path, n):
    import sqlite3

    from services.common.migrate import upgrade
    url = f"sqlite:///{path}"
    upgrade("customers", url)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-400000")
    indexes = [r[0] for r in con.execute(
        "SELECT sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
        "AND tbl_name IN ('customers','contacts','customer_tags','customer_search',"
        "'customer_search_tokens')")]
    for (name,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
            "AND tbl_name IN ('customers','contacts','customer_tags','customer_search',"
            "'customer_search_tokens')").fetchall():
        con.execute(f"DROP INDEX {name}")
    con.execute("CREATE TEMP TABLE tok (token TEXT, customer_id INTEGER)")
    con.execute("BEGIN")
    for batch in _batches(n):
        for table, cols in _COLS.items():
            target = "temp.tok" if table == "customer_search_tokens" else table
            sql = f"INSERT INTO {target} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            con.executemany(sql, [tuple(_sqlite_value(r.get(c)) for c in cols)
                                  for r in batch[table]])
    con.execute("INSERT INTO customer_search_tokens (token, customer_id) "
                "SELECT token, customer_id FROM temp.tok ORDER BY token, customer_id")
    con.execute("DROP TABLE temp.tok")
    con.execute("COMMIT")
    for sql in indexes:
        con.execute(sql)
    con.execute("ANALYZE")
    con.close()


def _sqlite_value(v):
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, bool):
        return int(v)
    return v


def _pg(url):
    import psycopg2
    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def load_postgres(dbname, n):
    from services.common.migrate import upgrade
    admin = _pg(PG_ADMIN)
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{dbname}"')
    admin.close()
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname
    upgrade("customers", url)
    conn = _pg(url)
    cur = conn.cursor()
    tables = tuple(_COLS)
    cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN %s "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)", (tables,))
    indexes = cur.fetchall()
    for name, _ in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    cur.execute("ALTER TABLE customer_search_tokens DROP CONSTRAINT customer_search_tokens_pkey")
    cur.execute("SET session_replication_role = replica")  # no FK triggers while loading
    for batch in _batches(n):
        for table, cols in _COLS.items():
            buf = io.StringIO()
            for r in batch[table]:
                buf.write("\t".join(_copy_value(r.get(c)) for c in cols) + "\n")
            buf.seek(0)
            cur.copy_expert(f"COPY {table} ({', '.join(cols)}) FROM STDIN", buf)
    cur.execute("SET session_replication_role = DEFAULT")
    cur.execute("ALTER TABLE customer_search_tokens ADD CONSTRAINT customer_search_tokens_pkey "
                "PRIMARY KEY (token, customer_id)")
    for _, sql in indexes:
        cur.execute(sql)
    cur.execute("SELECT setval(pg_get_serial_sequence('customers', 'id'), %s)", (n,))
    cur.execute("VACUUM ANALYZE")
    conn.close()
    return url


def _copy_value(v):
    if v is None:
        return "\\N"
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, bool):
        return "t" if v else "f"
    return str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


# --- the calls ------------------------------------------------------------------------
class _Db:
    """What ``CustomersService.list_customers`` uses of ``self.db``."""

    def __init__(self, url):
        from services.common.db import make_engine, make_sessionmaker, read_engine
        self.engine = make_engine(url)
        self.Session = make_sessionmaker(self.engine)
        self._reader = read_engine(self.engine)

    def read_uow(self):
        import contextlib

        from services.common.uow import ReadUnitOfWork

        @contextlib.contextmanager
        def cm():
            ro = ReadUnitOfWork(self, self._reader)
            try:
                yield ro
            finally:
                ro.close()
        return cm()


class _ActorDep:
    def __init__(self, data):
        from services.common.actors import Actor
        self.actor = Actor(data)

    def get(self):
        return self.actor


def service(url, actor):
    from services.customers.service import CustomersService
    svc = CustomersService()
    svc.db = _Db(url)
    svc.actor = _ActorDep(actor)
    return svc


def cases(n):
    """(name, actor, filters, page, cursor-maker) of issue 20's table."""
    from services.common import paging
    deep = (5000 - 1) * 20  # rows before page 5000 of 20
    return [
        ("q=科技", MANAGER, {"q": "科技"}, 1, None),
        ("rare q=瀚海蓝天", MANAGER, {"q": RARE}, 1, None),
        ("q no hit", MANAGER, {"q": "无此公司名称"}, 1, None),
        ("USCC in q", MANAGER, {"q": f"91{n // 2:016d}"}, 1, None),
        ("tags_all of two tags", MANAGER, {"tags_all": ["老客户", "重点客户"]}, 1, None),
        ("page 5000 of 20 (cursor)", MANAGER, {}, 1,
         lambda: paging.encode_cursor({}, [deep])),
        ("page 5000 of 20 (page=)", MANAGER, {}, 5000, None),
        ("staff own list + type", {"id": "u7", "roles": ["staff"], "department": "sales"},
         {"type": "closed"}, 1, None),
    ]


def measure(url, n, calls, only=None):
    out = {}
    for name, actor, filters, page, make_cursor in cases(n):
        if only and not any(o in name for o in only):
            continue
        svc = service(url, actor)
        cursor = make_cursor() if make_cursor else None
        fn = CustomersServiceCall(svc, filters, page, cursor)
        first = fn()
        for _ in range(5):
            fn()
        lat = []
        load = os.getloadavg()[0]
        server0 = _server_cpu(svc)
        cpu0 = time.process_time()
        for _ in range(calls):
            t0 = time.perf_counter()
            fn()
            lat.append((time.perf_counter() - t0) * 1000)
        cpu = (time.process_time() - cpu0) * 1000 / calls
        server = _server_cpu(svc)
        lat.sort()
        out[name] = {"p50_ms": round(statistics.median(lat), 2),
                     "p99_ms": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 2),
                     "cpu_ms_per_call": round(cpu, 2), "loadavg_1m": round(load, 1),
                     "server_cpu_ms_per_call": round((server - server0) * 1000 / calls, 2)
                     if server is not None else None,
                     "calls": calls, "items": len(first["items"]), "total": first["total"],
                     "total_is_estimate": first["total_is_estimate"]}
        print(f"  {name}: p50 {out[name]['p50_ms']} ms p99 {out[name]['p99_ms']} ms "
              f"cpu {out[name]['cpu_ms_per_call']} ms "
              f"server {out[name]['server_cpu_ms_per_call']} ms load {out[name]['loadavg_1m']} "
              f"(total {first['total']}{'~' if first['total_is_estimate'] else ''})",
              flush=True)
        svc.db.engine.dispose()
    return out


def _server_cpu(svc):
    """CPU seconds (user + system) of the PostgreSQL backends of this database (read from
    /proc: the server runs on this box), None on SQLite."""
    engine = svc.db.engine
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        pids = [r[0] for r in conn.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")]
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            total += (int(parts[11]) + int(parts[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


def CustomersServiceCall(svc, filters, page, cursor):  # noqa: N802 - a call factory
    return lambda: svc.list_customers(dict(filters), page=page, page_size=20, cursor=cursor)


def prepare(backend, size, fresh=False):
    n = SIZES[size]
    CACHE.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    if backend == "sqlite":
        path = CACHE / f"list_customers_{size}.db"
        if fresh or not path.exists():
            for p in CACHE.glob(f"list_customers_{size}.db*"):
                p.unlink()
            load_sqlite(str(path), n)
            print(f"loaded {size} into {path} in {time.time() - t0:.0f}s", flush=True)
        return f"sqlite:///{path}"
    dbname = f"crm_bench_lists_{size.lower()}"
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname
    admin = _pg(PG_ADMIN)
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
        exists = cur.fetchone() is not None
    admin.close()
    if fresh or not exists or not _pg_loaded(url, n):
        url = load_postgres(dbname, n)
        print(f"loaded {size} into {dbname} in {time.time() - t0:.0f}s", flush=True)
    return url


def _pg_loaded(url, n):
    try:
        conn = _pg(url)
        with conn.cursor() as cur:
            cur.execute("SELECT max(id) FROM customers")
            got = cur.fetchone()[0]
        conn.close()
        return got == n
    except Exception:  # noqa: BLE001
        return False


def run(sizes=("100k", "1M"), backends=("postgresql", "sqlite"), calls=200, only=None,
        fresh=False):
    figures = {}
    for size in sizes:
        for backend in backends:
            url = prepare(backend, size, fresh)
            print(f"list_customers {size} {backend}", flush=True)
            got = measure(url, SIZES[size], calls if size == "1M" else calls, only)
            for case, fig in got.items():
                key = f"list_customers {size} {backend} {case}"
                figures[key] = dict(fig, size=size, backend=backend, case=case,
                                    target_p99_ms=TARGET_MS[backend],
                                    meets_target=fig["p99_ms"] < TARGET_MS[backend])
    return figures


def write(figures, out=RESULTS):
    out.mkdir(parents=True, exist_ok=True)
    path = out / "list_customers.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    old.update(figures)
    path.write_text(json.dumps(old, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    md = ["# list_customers at 100k and 1M customers", "",
          "One run of `python -m bench.lists` (in-process calls, one at a time, 200 per case"
          " after 5 warm-up calls) on the shared 2-core bench box. Targets: p99 < 50 ms on"
          " PostgreSQL, < 100 ms on SQLite.", "",
          "`cpu ms` is this process's CPU per call and `server ms` the PostgreSQL backend's"
          " (from /proc): the load-independent cost; `load` is the 1-minute load average of"
          " the 2-core box when the case started (other work shares it: wall times above"
          " cpu + server are waiting for a core).", "",
          "| figure | p50 ms | p99 ms | target p99 | meets | cpu ms | server ms | load |"
          " total |",
          "|---|---|---|---|---|---|---|---|---|"]
    for key in sorted(old, key=lambda k: (old[k]["case"], old[k]["backend"],
                                          SIZES[old[k]["size"]])):
        f = old[key]
        total = f"{'~' if f['total_is_estimate'] else ''}{f['total']}"
        md.append(f"| {key} | {f['p50_ms']} | {f['p99_ms']} | < {f['target_p99_ms']:.0f} | "
                  f"{'yes' if f['meets_target'] else 'NO'} | {f.get('cpu_ms_per_call')} | "
                  f"{f.get('server_cpu_ms_per_call') or '-'} | {f.get('loadavg_1m')} | "
                  f"{total} |")
    (out / "list_customers.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.lists", description=__doc__)
    ap.add_argument("--sizes", default="100k,1M")
    ap.add_argument("--backends", default="postgresql,sqlite")
    ap.add_argument("--only", default="", help="case name fragments, comma separated")
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--fresh", action="store_true", help="reload the cached databases")
    ap.add_argument("--load-only", action="store_true")
    args = ap.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    backends = [b for b in args.backends.split(",") if b]
    if args.load_only:
        for size in sizes:
            for backend in backends:
                prepare(backend, size, args.fresh)
        return 0
    figures = run(sizes, backends, args.calls,
                  [o for o in args.only.split(",") if o], args.fresh)
    print(f"wrote {write(figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
