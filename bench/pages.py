"""W1: the customers workspace's pages over HTTP at N customers (default 100k).

The customers database of the bench stack gets N customers (one primary contact,
one or two of ten tags, twenty owners u1-u20) written straight into its tables;
then each page is fetched one request at a time with a session cookie, as a browser
does, and p50/p95 are reported against the issue's bound (p95 < 300 ms):
list (staff: their own ~N/20; manager: all N, first and a deep page), search,
tag filter, sort by name, detail page.

    .venv/bin/python -m bench --quick --only W1 --out /tmp/bench-w1   # ~5k customers
    .venv/bin/python -m bench --only W1 --out /tmp/bench-w1           # 100k customers
"""
import datetime as dt
import http.client
import os
import random
import time
from urllib.parse import quote

from sqlalchemy import create_engine, func, select

from services.common.cli.demo import make_uscc

TAGS = [f"标签{i}" for i in range(10)]
OWNERS = 20
BOUND_MS = 300


def seed(db_url, n, seed_value=7):
    """N customers, their contacts and tags, in bulk (a few seconds per 100k)."""
    from services.customers.models import Contact, Customer, CustomerTag
    rng = random.Random(seed_value)
    engine = create_engine(db_url)
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        # never one already there: R6's import (earlier in the same run) draws its USCCs
        # from the same generator (a default run failed W1 on UNIQUE customers.uscc)
        usccs = set(conn.execute(select(Customer.uscc)).scalars())
        start = conn.execute(select(func.coalesce(func.max(Customer.id), 0))).scalar() + 1
        for lo in range(start, start + n, 5000):
            ids = range(lo, min(lo + 5000, start + n))
            rows, contacts, tags = [], [], []
            for i in ids:
                uscc = make_uscc(rng, "310000")
                while uscc in usccs:
                    uscc = make_uscc(rng, "310000")
                usccs.add(uscc)
                rows.append({"id": i, "name": f"上海基准{i}科技有限公司", "uscc": uscc,
                             "industry_code": "C35", "region": "上海", "type": "potential",
                             "owner_id": f"u{i % OWNERS + 1}", "tier": "normal",
                             "completeness": 0.5, "needs": f"需求{i % 97}",
                             "created_at": now, "updated_at": now - dt.timedelta(seconds=i),
                             "version": 1})
                contacts.append({"customer_id": i, "name": "王芳", "title": "采购经理",
                                 "mobile": f"139{i:08d}"[-11:], "is_primary": True})
                for tag in {TAGS[i % 10], TAGS[(i * 7) % 10]}:
                    tags.append({"customer_id": i, "tag": tag})
            conn.execute(Customer.__table__.insert(), rows)
            conn.execute(Contact.__table__.insert(), contacts)
            conn.execute(CustomerTag.__table__.insert(), tags)
    try:  # the search index (issue 20), when the service has one: fill it as a migration does
        from services.customers import search
    except ImportError:
        search = None
    if search is not None and hasattr(search, "backfill"):
        with engine.begin() as conn:
            search.backfill(conn)
    analyze(engine)
    return start, start + n - 1


def analyze(engine):
    """Fresh planner statistics after a bulk seed (SQLite), then let the engine go."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def timed_get(port, path, cookie):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t0 = time.perf_counter()
    conn.request("GET", quote(path, safe="/?=&,"), headers={"Cookie": f"crm_token={cookie}",
                                       "Accept": "text/html"})
    resp = conn.getresponse()
    body = resp.read()
    ms = (time.perf_counter() - t0) * 1000
    conn.close()
    return resp.status, ms, body.decode("utf-8", "replace")


def pct(values, p):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p * len(values)))], 1)


def start_gateway(bench, name, target):
    """Start a gateway process on a free port and wait for its /health; its port."""
    import urllib.request

    from bench.infra import free_port, wait_until
    port = free_port()
    bench.stack.start(name, target, {"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"})
    wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/health",
                                              timeout=3).status == 200, 90, what=name)
    return port


def measure(bench, port, cases, samples, label, cpu=None):
    """Each case {name: (token, path())} fetched once to warm, then ``samples`` times:
    p50/p95/max, the statuses seen and whether p95 is within the bound; with ``cpu``
    (a callable giving CPU seconds so far) also the CPU per request."""
    out = {}
    for name, (token, path) in cases.items():
        timed_get(port, path(), token)  # warm
        times, statuses = [], set()
        cpu0 = cpu() if cpu else None
        for _ in range(samples):
            status, ms, _body = timed_get(port, path(), token)
            statuses.add(status)
            times.append(ms)
        out[name] = {"p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95),
                     "max_ms": round(max(times), 1), "statuses": sorted(statuses)}
        if cpu:
            out[name]["cpu_ms_per_request"] = round((cpu() - cpu0) * 1000 / samples, 1)
        out[name]["within_bound"] = pct(times, 0.95) < BOUND_MS
        bench.say(f"  {label} {name}: {out[name]}")
    return out


def time_pages(bench, gateway, port, cases, samples, label, head, cpu=None):
    """``head`` plus how the figures were taken, each case ``measure``d between the load
    averages at start and end; then the gateway is stopped."""
    out = dict(head, samples_per_case=samples, bound_p95_ms=BOUND_MS,
               how="sequential GETs with the session cookie, one connection each",
               loadavg_at_start=[round(x, 2) for x in os.getloadavg()])
    out.update(measure(bench, port, cases, samples, label, cpu=cpu))
    out["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    bench.stack.stop(gateway)
    return out


class Solo:
    """Just enough of bench.run.Bench to time pages alone: a vhost, migrated SQLite
    databases (``databases``) and the services (``{name: "module:Class"}``) started."""

    def __init__(self, log_dir, label, databases, services):
        import tempfile
        from pathlib import Path

        from bench.infra import Stack, Vhost
        from services.common.bus import setup_bus
        from services.common.migrate import upgrade
        self.vhost = Vhost()
        uri = self.vhost.create()
        self.dir = Path(tempfile.mkdtemp(prefix=f"crm-bench-{label}-"))
        self.sqlite = {s: f"sqlite:///{self.dir}/{s}.db" for s in databases}
        for service, url in self.sqlite.items():
            upgrade(service, url)
        setup_bus(uri, 5, "classic")
        self.stack = Stack(uri, self.sqlite, log_dir)
        for name, target in services.items():
            self.stack.start(name, target)

    def say(self, msg):
        print(msg, flush=True)

    def close(self):
        import shutil
        try:
            self.stack.stop_all()
        finally:
            self.vhost.drop()
            shutil.rmtree(self.dir, ignore_errors=True)


def run(bench, n, samples):
    from services.common.auth import mint_token
    from services.common.config import load_config
    cfg = load_config()
    first, last = seed(bench.sqlite["customers"], n)
    staff = mint_token(cfg, "u1", "staff", "sales")
    manager = mint_token(cfg, "m1", "manager", "management")
    own = [i for i in range(first, last + 1) if i % OWNERS == 0]  # u1's customers
    rng = random.Random(11)
    deep = max(1, n // 20 // 2)
    cases = {
        "list_staff_own": (staff, lambda: "/app/customers"),
        "list_manager_all": (manager, lambda: "/app/customers"),
        f"list_manager_page_{deep}": (manager, lambda: f"/app/customers?page={deep}"),
        "search_manager_name_fragment": (
            manager, lambda: f"/app/customers?q=基准{rng.randrange(first, last)}"),
        "search_staff_no_hit": (staff, lambda: "/app/customers?q=瀚海蓝天"),
        "tags_all_two_manager": (manager, lambda: "/app/customers?tags=标签1,标签7"),
        "sort_name_manager": (manager, lambda: "/app/customers?sort=name"),
        "detail_staff": (staff, lambda: f"/app/customers/{rng.choice(own)}"),
    }
    out = {"customers": n, "samples_per_case": samples, "bound_p95_ms": BOUND_MS,
           "how": "sequential GETs with the session cookie, one connection each"}
    for name, (token, path) in cases.items():
        timed_get(bench.gw_port, path(), token)  # warm
        times, statuses, shown = [], set(), []
        for _ in range(samples):
            status, ms, body = timed_get(bench.gw_port, path(), token)
            statuses.add(status)
            times.append(ms)
            shown.append(body.count("<tr data-id=") or body.count('id="contacts"'))
        out[name] = {"p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95),
                     "max_ms": round(max(times), 1), "statuses": sorted(statuses),
                     "rows_shown_min_max": [min(shown), max(shown)],
                     "within_bound": pct(times, 0.95) < BOUND_MS}
        bench.say(f"  W1 {name}: {out[name]}")
    for fmt in ("csv", "xlsx"):
        out[f"export_{fmt}_manager_all"] = export_figure(bench, manager, fmt)
        bench.say(f"  W1 export {fmt}: {out[f'export_{fmt}_manager_all']}")
    return out


def export_figure(bench, token, fmt):
    """The whole list exported by a manager (N rows): seconds, size, and the gateway's
    resident memory before and at most while it builds and streams (sampled 5x/s)."""
    import threading

    from bench.infra import rss_mb
    pid = bench.stack.pid("customers_gateway")
    before = rss_mb(pid) or 0
    peak, done = [before], threading.Event()

    def sample():
        while not done.wait(0.2):
            peak.append(rss_mb(pid) or 0)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    conn = http.client.HTTPConnection("127.0.0.1", bench.gw_port, timeout=900)
    t0 = time.perf_counter()
    conn.request("GET", f"/app/customers/export.{fmt}",
                 headers={"Cookie": f"crm_token={token}", "Accept": "text/html"})
    resp = conn.getresponse()
    size = 0
    while chunk := resp.read(256 * 1024):
        size += len(chunk)
    secs = time.perf_counter() - t0
    done.set()
    sampler.join()
    conn.close()
    return {"status": resp.status, "seconds": round(secs, 1), "mb": round(size / 2**20, 1),
            "gateway_rss_mb_before": round(before, 1),
            "gateway_rss_mb_peak": round(max(peak), 1)}


def run_solo(solo, settle, figures, out_path):
    """``figures(solo)`` once the services had ``settle`` seconds to import and connect;
    the Solo stack closed whatever happens; the figures written to ``out_path`` as JSON
    and printed."""
    import json
    try:
        time.sleep(settle)
        out = figures(solo)
    finally:
        solo.close()
    with open(out_path, "w") as fh:
        json.dump(out, fh, indent=1, ensure_ascii=False)
    print(json.dumps(out, indent=1, ensure_ascii=False))
