"""The benchmark run: ceilings C1-C3 and our figures R1-R8, side by side.

    .venv/bin/python -m bench [--quick | --long] [--only C1,C2,R4 ...]
"""
import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import datagen, loadgen
from bench.infra import PgDatabase, Stack, Vhost, free_port, rss_mb, wait_until
from bench.report import write_reports
from services.common.config import ROOT

RESULTS = ROOT / "bench" / "results"
STAFF = {"id": "u1", "roles": ["staff"], "department": "sales"}
MANAGER = {"id": "m1", "roles": ["manager"], "department": "management"}
AGENT = {"id": "a1", "roles": ["staff"], "department": "service"}
MARKETER = {"id": "mk1", "roles": ["staff"], "department": "marketing"}

MODES = {
    "quick": dict(reps=1, dur=2.0, warm=0.5, c1_msgs=2000, c3_events=2000, r4_dur=4.0,
                  r4_lag_dur=4.0, r4_drain_dur=8.0,
                  r5_customers=5000, r5_calls=40, r6_rows=3000, r7_window=20,
                  wrk_dur=2),
    "default": dict(reps=3, dur=5.0, warm=1.0, c1_msgs=10000, c3_events=10000, r4_dur=10.0,
                    r4_lag_dur=15.0, r4_drain_dur=30.0,
                    r5_customers=100000, r5_calls=150, r6_rows=20000,
                    r7_window=120, wrk_dur=5),
}


def _cpu_summary(proc, ours, echo):
    """The serving process's CPU per call next to the bare echo's, the machine-wide
    figures of both, and the bound they set on the throughput ratio (``bench.cpu``)."""
    if not ours or not echo:
        return {"ours": ours, "bench_echo": echo}
    mine, bare = ours.get(proc), echo.get("bench_echo")
    return {"ours": mine, "bench_echo": bare,
            "echo_over_ours": round(bare / mine, 3) if mine and bare else None,
            "machine_ours": ours["machine"], "machine_echo": echo["machine"],
            "machine_bound_ratio": round(echo["machine"] / ours["machine"], 3)
            if ours["machine"] else None,
            "breakdown_ours": ours, "breakdown_echo": echo}


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p * len(values)))], 3)


def ratio(a, b):
    return round(a / b, 3) if a and b else None


class Bench:
    def __init__(self, mode, long=False, only=None, profile=None):
        self.profile = set(profile or [])
        self.mode_name = mode
        self.m = dict(MODES[mode])
        if long:  # the full sizes: 10 minutes of R7, 100,000 import rows
            self.m["r7_window"] = 600
            self.m["r6_rows"] = 100000
            self.m["r5_customers"] = 1000000  # R5: 1M customers, 10M events
        self.only = set(only or [])
        self.res = {"meta": {}, "ceilings": {}, "figures": {}, "errors": {}, "notes": []}
        self.log_dir = Path(tempfile.mkdtemp(prefix="crm-bench-logs-"))

    # --- helpers -----------------------------------------------------------------------
    def want(self, key):
        return not self.only or key in self.only

    def say(self, msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    def phase(self, key, fn):
        if not self.want(key):
            return
        self.say(f"{key} ...")
        self.res["meta"].setdefault("loadavg_at_start", {})[key] = os.getloadavg()
        t0 = time.time()
        spies = self._spy(key) if key in self.profile else []
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - one failing figure must not stop the run
            self.res["errors"][key] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        finally:
            for proc in spies:
                proc.send_signal(2)  # SIGINT: py-spy writes its profile
                proc.wait(timeout=60)
        self.say(f"{key} done in {time.time() - t0:.0f}s")

    PROFILED = {"R2": ["customers", "reporting"], "R4": ["sales", "service_desk", "reporting"],
                "R5": ["reporting"], "R6": ["customers"],
                "R3": ["customers_gateway", "customers"], "R2pg": ["customers_pg", "reporting"]}

    def _spy(self, key):
        spy = Path(sys.executable).parent / "py-spy"
        procs = []
        for name in self.PROFILED.get(key, []):
            if name not in self.stack.procs:
                continue
            out = RESULTS / f"profile-{key}-{name}.txt"
            procs.append(subprocess.Popen(
                [str(spy), "record", "--format", "raw", "--rate", "200", "-o", str(out),
                 "-p", str(self.stack.pid(name))], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
            self.say(f"  py-spy on {name} -> {out}")
        return procs

    def measure(self, service, method, kind, callers, actor=None, extra=None, reps=None,
                dur=None, procs=None, paired=None):
        """Median calls/s over reps and pooled p50/p99. ``paired``: a function run
        before each rep that returns the ceiling measured right then (the machine is
        shared: a ratio is only fair between neighbouring measurements)."""
        reps = reps or self.m["reps"]
        runs, lat, errors, ceil = [], [], {}, []
        for _ in range(reps):
            if paired:
                ceil.append(paired())
            r = loadgen.run_load(self.uri, service, method, kind, callers=callers,
                                 duration=dur or self.m["dur"], warmup=self.m["warm"],
                                 actor=actor, extra=extra, procs=procs)
            runs.append(round(r["calls_per_s"], 1))
            lat += r["latencies_ms"]
            for k, v in r["errors"].items():
                errors[k] = errors.get(k, 0) + v
        out = {"callers": callers, "calls_per_s": statistics.median(runs), "reps": runs,
               "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99), "calls": len(lat)}
        if errors:
            out["errors"] = errors
        if paired:
            out["paired_ceiling_reps"] = ceil
            out["paired_ceiling"] = statistics.median(ceil)
            out["paired_ratio"] = round(statistics.median(
                f / c for f, c in zip(runs, ceil, strict=False) if c), 3)
            self.say(f"  paired ceiling {ceil} -> ratio {out['paired_ratio']}")
        self.say(f"  {service}.{method} @{callers}: {out['calls_per_s']}/s "
                 f"p50 {out['p50_ms']} ms p99 {out['p99_ms']} ms {errors or ''}")
        return out

    def c2_rep(self):
        r = loadgen.run_load(self.uri, "bench_echo", "echo", "echo", callers=32,
                             duration=self.m["dur"], warmup=self.m["warm"])
        return round(r["calls_per_s"], 1)

    def call(self, service, method, *args, actor=None, timeout=30, **kw):
        return loadgen.call(self.uri, service, method, *args, actor=actor, timeout=timeout, **kw)

    def wait_rpc(self, service, method, *args, actor=None, timeout=90):
        wait_until(lambda: self.call(service, method, *args, actor=actor, timeout=3) is not None
                   or True, timeout, what=f"{service}")

    # --- setup ---------------------------------------------------------------------------
    def setup(self):
        from services.common.bus import setup_bus
        from services.common.migrate import upgrade
        self.vhost = Vhost()
        self.uri = self.vhost.create()
        self.sqlite_dir = Path(tempfile.mkdtemp(prefix="crm-bench-db-"))
        self.sqlite = {s: f"sqlite:///{self.sqlite_dir}/{s}.db"
                       for s in ("customers", "sales", "reporting", "service_desk", "marketing")}
        self.pg = PgDatabase("customers")
        self.pg_url = self.pg.create()
        for s in ("customers", "sales", "reporting", "service_desk"):
            upgrade(s, self.sqlite[s])
        upgrade("customers", self.pg_url)
        setup_bus(self.uri, 5, "classic")
        self.stack = Stack(self.uri, self.sqlite, self.log_dir)
        self.res["meta"].update({
            "mode": self.mode_name, "started_at": dt.datetime.now().isoformat(timespec="seconds"),
            "host": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "vhost": self.vhost.name, "logs": str(self.log_dir), "params": self.m})

    def teardown(self):
        try:
            self.stack.stop_all()
        finally:
            self.vhost.drop()
            self.pg.drop()
            import shutil
            shutil.rmtree(self.sqlite_dir, ignore_errors=True)

    def start_main(self):
        st = self.stack
        st.start("bench_echo", "bench.bare:BenchEcho")
        st.start("bench_kit_echo", "bench.bare:BenchKitEcho")
        st.start("bench_source", "bench.bare:BenchSource")
        st.start("bench_sink", "bench.bare:BenchSink")
        st.start("customers", "services.customers.service:CustomersService")
        self.gw_port = free_port()
        st.start("customers_gateway", "services.customers.gateway:CustomersGateway",
                 {"WEB_SERVER_ADDRESS": f"127.0.0.1:{self.gw_port}"})
        st.start("sales", "services.sales.service:SalesService")
        st.start("reporting", "services.reporting.service:ReportingService")
        wait_until(lambda: self.call("bench_echo", "echo", 1, timeout=3) == 1, 90,
                   what="bench_echo")
        wait_until(lambda: self.call("bench_kit_echo", "echo", 1, timeout=3) == 1, 90,
                   what="bench_kit_echo")
        wait_until(lambda: self.call("bench_sink", "reset", timeout=3), 90, what="bench_sink")
        wait_until(lambda: self.call("customers", "list_customers", actor=STAFF, timeout=3), 90,
                   what="customers")
        wait_until(lambda: self.call("reporting", "freshness", timeout=3), 90, what="reporting")
        wait_until(lambda: self.call("sales", "get_assignment_rules", timeout=3) is not None,
                   90, what="sales")
        import urllib.request
        wait_until(lambda: urllib.request.urlopen(
            f"http://127.0.0.1:{self.gw_port}/health", timeout=3).status == 200, 90,
            what="customers_gateway")
        time.sleep(3)
        self.res["figures"]["R7"] = {"idle_rss_mb": {n: round(rss_mb(p.pid) or 0, 1)
                                                     for n, p in st.procs.items()}}

    # --- ceilings ------------------------------------------------------------------------
    def c1(self):
        n, runs = self.m["c1_msgs"], []
        for _ in range(self.m["reps"]):
            runs.append(_kombu_ceiling(self.uri, n))
            self.say(f"  kombu: {runs[-1]}")
        self.res["ceilings"]["C1"] = {
            "what": "kombu publish (confirms, persistent, 1 KB) + consume (ack), separate "
                    "processes", "msgs_per_s": statistics.median(r["msgs_per_s"] for r in runs),
            "publish_per_s": statistics.median(r["publish_per_s"] for r in runs),
            "reps": runs, "messages": n}

    def c2(self):
        out = {}
        for c in (1, 8, 32):
            out[str(c)] = self.measure("bench_echo", "echo", "echo", c)
        kit = self.measure("bench_kit_echo", "echo", "echo", 32, paired=self.c2_rep)
        self.res["ceilings"]["C2"] = {"what": "bare nameko echo @rpc, no DB", "by_callers": out,
                                      "kit_echo_32": kit}

    def c3(self):
        runs = [self.c3_rep() for _ in range(self.m["reps"])]
        self.res["ceilings"]["C3"] = {
            "what": "bare nameko EventDispatcher (4 workers) -> @event_handler, no DB",
            "events_per_s": statistics.median(r["events_per_s"] for r in runs), "reps": runs,
            "events": self.m["c3_events"]}

    def c3_rep(self):
        n = self.m["c3_events"]
        self.call("bench_sink", "reset")
        t0 = time.time()
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(4) as pool:  # 4 dispatching workers, like busy services
            list(pool.map(lambda _: self.call("bench_source", "fire", n // 4, timeout=300),
                          range(4)))
        t_fired = time.time()
        wait_until(lambda: self.call("bench_sink", "stats")["count"] >= n // 4 * 4, 300,
                   0.2, what="sink")
        s = self.call("bench_sink", "stats")
        rep = {"events_per_s": round(s["count"] / max(s["last"] - t0, 1e-6), 1),
               "dispatch_per_s": round(n / (t_fired - t0), 1)}
        self.say(f"  nameko events: {rep}")
        return rep

    # --- ours ------------------------------------------------------------------------------
    def r2_r1(self, backend):
        figs = self.res["figures"]
        r2 = {str(c): self.measure("customers", "create_customer", "create_customer", c,
                                   actor=STAFF, paired=self.c2_rep if c == 32 else None)
              for c in (1, 32)}
        figs.setdefault("R2", {})[backend] = r2
        ids = self._customer_ids(backend)
        self.ids = ids
        r1 = {str(c): self.measure("customers", "get_customer", "get_customer", c, actor=STAFF,
                                   extra={"ids": ids}, paired=self.c2_rep if c == 32 else None)
              for c in (1, 32)}
        figs.setdefault("R1", {})[backend] = r1
        # CPU per call of the service process, next to the bare echo's: on a shared box
        # the steadiest measure of what a call costs us (throughput swings with the load).
        # Machine-wide too (bench.cpu): the broker, PostgreSQL, the consumers of the
        # events, the load generator; their sum bounds what the ratio can be here.
        proc = "customers" if backend == "sqlite" else "customers_pg"
        echo = self._cpu_per_call("bench_echo", "bench_echo", "echo", "echo")
        for fig, method, extra in (("R2", "create_customer", None),
                                   ("R1", "get_customer", {"ids": ids})):
            ours = self._cpu_per_call(proc, "customers", method, method, extra)
            figs[fig][backend]["cpu_ms_per_call"] = _cpu_summary(proc, ours, echo)
            self.say(f"  CPU per call {method}: {figs[fig][backend]['cpu_ms_per_call']}")

    def _cpu_per_call(self, proc, service, method, kind, extra=None):
        """ms of CPU per call answered, 32 callers, over the measured window only, for
        every process of the stack, RabbitMQ, PostgreSQL and the machine
        (``bench.cpu``); ``proc`` is the process serving the calls."""
        import threading

        from bench import cpu
        pids = {n: p.pid for n, p in self.stack.procs.items()}
        dur, warm, box = self.m["dur"], self.m["warm"], {}

        def sample():
            t0 = time.time() + 1.5 + warm  # run_load starts its callers 1.5 s from now
            time.sleep(max(0.0, t0 - time.time()))
            box["c0"] = cpu.snapshot(pids)
            time.sleep(max(0.0, t0 + dur - time.time()))
            box["c1"] = cpu.snapshot(pids)
        th = threading.Thread(target=sample, daemon=True)
        th.start()
        r = loadgen.run_load(self.uri, service, method, kind, callers=32, duration=dur,
                             warmup=warm, actor=STAFF, extra=extra)
        th.join()
        if not r["calls"] or "c1" not in box:
            return None
        # calls answered inside the sampled window (run_load counts the measured window)
        out = cpu.per_call(box["c0"], box["c1"], r["calls"])
        out["serving"] = proc
        return out

    def _customer_ids(self, backend):
        res = self.call("customers", "list_customers", None, 1, 100, actor=STAFF)
        return [c["id"] for c in res["items"]]

    def r3(self):
        from services.common.auth import mint_token
        from services.common.config import load_config
        # the gateway limits each user to RATE_LIMIT_PER_MINUTE (600) requests: a crowd of
        # managers (who see every customer) shares the load, as real users would
        cfg = load_config()
        if not getattr(self, "ids", None):  # `--only R3`: R2 did not seed the customers
            make = loadgen.make_args("create_customer", 8000, {})
            for _ in range(100):
                self.call("customers", "create_customer", make()[0][0], actor=STAFF)
            self.ids = self._customer_ids("sqlite")
        token = ", ".join(f'"{mint_token(cfg, f"bench-m{i}", "manager", "management")}"'
                          for i in range(400))
        base = f"http://127.0.0.1:{self.gw_port}"
        work = Path(tempfile.mkdtemp(prefix="crm-bench-wrk-"))
        out = {"tool": "wrk -t2 -c32 (Debian wrk 4.1), 400 manager tokens (per-user rate limit)"}
        get_lua = work / "get.lua"
        get_lua.write_text(_WRK_GET % (", ".join(map(str, self.ids)), token))
        runs, rpc = [], []
        _wrk(base + "/", get_lua, 1, 32)  # warm-up
        for _ in range(self.m["reps"]):  # each HTTP rep next to an RPC rep (same load)
            rpc.append(self._rpc_rep("get_customer", {"ids": self.ids}))
            runs.append(self._wrk_cpu(base + "/", get_lua, self.m["wrk_dur"]))
        out["get_customer"] = _summ(runs, rpc)
        out["get_customer"]["cpu_ms_per_request"] = runs[-1].get("cpu_ms_per_request")
        runs, rpc = [], []
        for rep in range(self.m["reps"] + 1):
            bodies = work / f"bodies{rep}.txt"
            make = loadgen.make_args("create_customer", 9000 + rep, {})
            with bodies.open("w", encoding="utf-8") as fh:
                for _ in range(int(self.m["wrk_dur"] * 600) + 200):
                    fh.write(json.dumps(make()[0][0], ensure_ascii=False) + "\n")
            lua = work / f"post{rep}.lua"
            lua.write_text(_WRK_POST % (str(bodies), token))
            if rep:
                rpc.append(self._rpc_rep("create_customer", None))
            if rep:
                runs.append(self._wrk_cpu(base + "/customers", lua, self.m["wrk_dur"]))
            else:
                _wrk(base + "/customers", lua, 1, 32)
        out["create_customer"] = _summ(runs, rpc)
        out["create_customer"]["cpu_ms_per_request"] = runs[-1].get("cpu_ms_per_request")
        for k in ("get_customer", "create_customer"):
            self.say(f"  HTTP {k}: {out[k]}")
        self.res["figures"]["R3"] = out

    def _wrk_cpu(self, url, script, seconds):
        """One wrk repetition, with the machine's CPU per request over it (bench.cpu;
        ``wrk`` itself lands in ``other``)."""
        from bench import cpu
        pids = {n: p.pid for n, p in self.stack.procs.items()}
        before = cpu.snapshot(pids)
        r = _wrk(url, script, seconds, 32)
        if r.get("requests"):
            r["cpu_ms_per_request"] = cpu.per_call(before, cpu.snapshot(pids), r["requests"])
        return r

    def _rpc_rep(self, method, extra):
        r = loadgen.run_load(self.uri, "customers", method, method, callers=32,
                             duration=self.m["wrk_dur"], warmup=self.m["warm"], actor=STAFF,
                             extra=extra)
        return round(r["calls_per_s"], 1)

    def r7(self):
        window, st = self.m["r7_window"], self.stack
        samples = {n: [] for n in st.procs}
        t0 = time.time()
        import threading
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                for n, p in st.procs.items():
                    samples.setdefault(n, []).append((round(time.time() - t0, 1), rss_mb(p.pid)))
                stop.wait(5)
        th = threading.Thread(target=sample, daemon=True)
        th.start()
        load = loadgen.run_load(self.uri, "customers", "create_customer", "create_customer",
                                callers=8, duration=window, warmup=0, actor=STAFF)
        stop.set()
        th.join()
        per = {}
        for n, s in samples.items():
            vals = [v for _, v in s if v]
            if not vals:
                continue
            half = [v for t, v in s if v and t >= window / 2]
            growth = (half[-1] - half[0]) / half[0] * 100 if len(half) > 1 else None
            per[n] = {"start_mb": round(vals[0], 1), "peak_mb": round(max(vals), 1),
                      "end_mb": round(vals[-1], 1),
                      "growth_last_half_pct": round(growth, 1) if growth is not None else None}
        r7 = self.res["figures"].setdefault("R7", {})
        r7.update({"window_s": window, "load": "create_customer @8 callers (SQLite)",
                   "load_calls_per_s": round(load["calls_per_s"], 1), "under_load": per})
        self.say(f"  RSS: {per}")

    def r6(self):
        rows = self.m["r6_rows"]
        work = Path(tempfile.mkdtemp(prefix="crm-bench-import-"))
        path = work / "customers.csv"
        bad = datagen.import_csv(path, rows)
        env = self.stack.env()
        cpu0 = self._cpu_s("customers")
        t0 = time.time()
        proc = subprocess.run([str(Path(sys.executable).parent / "crm"), "import", "customers",
                               str(path), "--report", str(work / "errors.csv")], cwd=str(ROOT),
                              env=env, capture_output=True, text=True, timeout=1800)
        secs = time.time() - t0
        service_cpu = self._cpu_s("customers") - cpu0
        rejected = max(0, sum(1 for _ in open(work / "errors.csv")) - 1) \
            if (work / "errors.csv").exists() else None
        self.res["figures"]["R6"] = {
            "rows": rows, "seconds_per_100k_rows": None, "bad_rows": bad,
            "rejected_rows_reported": rejected,
            "seconds": round(secs, 1), "rows_per_s": round(rows / secs, 1),
            "exit_code": proc.returncode, "chunk": 500,
            "customers_cpu_ms_per_row": round(service_cpu * 1000 / rows, 3),
            "tail": proc.stdout.strip().splitlines()[-1:] if proc.stdout else proc.stderr[-300:]}
        self.res["figures"]["R6"]["seconds_per_100k_rows"] = round(secs * 100000 / rows, 1)
        self.say(f"  import: {self.res['figures']['R6']}")

    # --- R4: the event pipeline from both write sources ---------------------------------
    # (service, method, loadgen kind, callers, actor). Leads are created as
    # the system (no actor: the generated leads name their owners u1-u20); tickets by a
    # service agent (who keeps them: no roster). open_ticket carries no customer_id: a
    # ticket for a known customer adds a customers.get_customer RPC per call (service_desk
    # checks the customer exists), which would measure customers too.
    R4_SOURCES = (
        ("sales", "create_lead", "create_lead", 32, None),
        ("service_desk", "open_ticket", "open_ticket", 32, AGENT),
    )

    def _r4_sources(self):
        return [s[0] for s in self.R4_SOURCES]

    def _r4_loads(self, duration, rates=None):
        """Drive every R4 source at once (closed loop, or paced at ``rates[source]``
        writes/s) → {source: run_load result}."""
        specs = [{"service": svc, "method": method, "kind": kind, "callers": callers,
                  "actor": actor, "rate": (rates or {}).get(svc)}
                 for svc, method, kind, callers, actor in self.R4_SOURCES]
        results = loadgen.run_loads(self.uri, specs, duration=duration, warmup=0)
        return dict(zip(self._r4_sources(), results, strict=True))

    def _reporting_rows(self, after_id, sources=None):
        from sqlalchemy import select

        from services.common.db import make_engine
        from services.reporting.models import EventLog
        eng = make_engine(self.sqlite["reporting"])
        with eng.connect() as conn:
            rows = conn.execute(select(EventLog.id, EventLog.source, EventLog.occurred_at,
                                       EventLog.applied_at, EventLog.lag_seconds).where(
                EventLog.id > after_id,
                EventLog.source.in_(sources or self._r4_sources()))).all()
        eng.dispose()
        return rows

    def _max_log_id(self):
        import sqlite3
        with sqlite3.connect(f"{self.sqlite_dir}/reporting.db") as c:
            return c.execute("select coalesce(max(id), 0) from event_log").fetchone()[0]

    def _outbox(self, source, after_id=0):
        """(events, max id) of ``source``'s outbox after ``after_id``."""
        import sqlite3
        with sqlite3.connect(f"{self.sqlite_dir}/{source}.db") as c:
            return c.execute("select count(*), coalesce(max(id),0) from outbox where id > ?",
                             (after_id,)).fetchone()

    def _outbox_marks(self):
        """{source: the last outbox id now}: where a measurement's events start."""
        return {s: self._outbox(s)[1] for s in self._r4_sources()}

    def _outbox_counts(self, marks):
        return {s: self._outbox(s, after)[0] for s, after in marks.items()}

    def _unsent(self):
        import sqlite3
        n = 0
        for s in self._r4_sources():
            with sqlite3.connect(f"{self.sqlite_dir}/{s}.db") as c:
                n += c.execute("select count(*) from outbox where sent_at is null").fetchone()[0]
        return n

    def _settle(self, log_after, marks, timeout=180):
        """Wait until reporting logged every event each source wrote since ``marks``."""
        def done():
            want = self._outbox_counts(marks)
            got = {}
            for r in self._reporting_rows(log_after, list(marks)):
                got[r.source] = got.get(r.source, 0) + 1
            return all(got.get(s, 0) >= n for s, n in want.items())
        wait_until(done, timeout, 0.5, what="reporting catching up")

    def _cpu_s(self, name):
        """utime + stime of a service process (seconds), from /proc/<pid>/stat."""
        from bench.cpu import proc_cpu
        return proc_cpu(self.stack.pid(name))

    def _r4_applied(self, rows):
        applied = [r.applied_at for r in rows]
        span = (max(applied) - min(applied)).total_seconds() if applied else 0
        return round(len(rows) / max(span, 1e-6), 1)

    def _relay_lags(self, source, outbox_after):
        """``source``'s relay share of the lag: outbox sent_at − created_at (s)."""
        import sqlite3
        with sqlite3.connect(f"{self.sqlite_dir}/{source}.db") as c:
            return [r[0] for r in c.execute(
                "select (julianday(sent_at) - julianday(created_at)) * 86400 from outbox "
                "where id > ? and sent_at is not null", (outbox_after,))]

    def _by_source(self, rows):
        out = {s: [] for s in self._r4_sources()}
        for r in rows:
            out.setdefault(r.source, []).append(r)
        return out

    def _start_desk(self):
        """R4's second write source. It runs only during R4: it consumes every
        customer event (with a customers.get_customer call each), which is not part
        of R1-R3's figures; the customer events R2 queued for it are purged first,
        so R4 measures the pipeline, not that backlog."""
        from kombu import Connection

        from services.common.contract_bus import all_queue_objs
        with Connection(self.uri) as conn:
            for _q, queue, _dlq in all_queue_objs(consumers={"service_desk"}):
                queue(conn.default_channel).purge()
        self.stack.start("service_desk", "services.service_desk.service:ServiceDeskService")
        wait_until(lambda: self.call("service_desk", "list_tickets", actor=AGENT, timeout=3),
                   90, what="service_desk")

    def r4(self):
        self._start_desk()
        try:
            self._r4()
        finally:
            self.stack.stop("service_desk")

    def _r4(self):
        runs, c3 = [], []
        sources = self._r4_sources()
        for _ in range(self.m["reps"]):
            c3.append(self.c3_rep()["events_per_s"])  # the ceiling next to each rep
            log0, marks = self._max_log_id(), self._outbox_marks()
            cpu0 = {n: self._cpu_s(n) for n in ["reporting", *sources]}
            loads = self._r4_loads(self.m["r4_dur"])
            self._settle(log0, marks)
            cpu = {n: self._cpu_s(n) - v for n, v in cpu0.items()}
            rows = self._reporting_rows(log0)
            counts = self._outbox_counts(marks)
            per = {}
            for s, srows in self._by_source(rows).items():
                load = loads[s]
                per[s] = {"writes_per_s": round(load["calls_per_s"], 1),
                          "write_p50_ms": pct(load["latencies_ms"], 0.5),
                          "write_p99_ms": pct(load["latencies_ms"], 0.99),
                          "errors": load["errors"] or None, "events": counts[s],
                          "events_per_write": round(counts[s] / max(load["calls"], 1), 2),
                          "applied_per_s": self._r4_applied(srows),
                          "lag_p99_s": pct([r.lag_seconds for r in srows], 0.99),
                          "relay_lag_p99_s": pct(self._relay_lags(s, marks[s]), 0.99),
                          # the source process' CPU per write while it ran (its relay's
                          # publishes included)
                          "cpu_ms_per_write": round(1000 * cpu[s] / max(load["calls"], 1),
                                                    3)}
            runs.append({"applied_per_s": self._r4_applied(rows), "events": len(rows),
                         "lag_p99_s": pct([r.lag_seconds for r in rows], 0.99),
                         "reporting_cpu_ms_per_event": round(1000 * cpu["reporting"]
                                                             / max(len(rows), 1), 3),
                         "by_source": per})
            self.say(f"  pipeline at full load: {runs[-1]}")
        sustained = statistics.median(r["applied_per_s"] for r in runs)
        c3_med = statistics.median(c3)
        by_source = {}
        for s in sources:
            applied = statistics.median(r["by_source"][s]["applied_per_s"] for r in runs)
            by_source[s] = {
                "sustained_events_per_s": applied,
                "writes_per_s": statistics.median(r["by_source"][s]["writes_per_s"]
                                                  for r in runs),
                "events_per_write": statistics.median(
                    r["by_source"][s]["events_per_write"] for r in runs) or 1,
                "cpu_ms_per_write": statistics.median(
                    r["by_source"][s]["cpu_ms_per_write"] for r in runs),
                "paired_ceiling": c3_med,
                "paired_ratio": round(statistics.median(
                    r["by_source"][s]["applied_per_s"] / c
                    for r, c in zip(runs, c3, strict=False) if c), 3)}
        # half rate: every source paced at 50 % of its own sustained rate, together
        rates = {s: 0.5 * by_source[s]["sustained_events_per_s"]
                 / by_source[s]["events_per_write"] for s in sources}
        log0, marks = self._max_log_id(), self._outbox_marks()
        paced = self._r4_loads(self.m["r4_lag_dur"], rates=rates)
        self._settle(log0, marks)
        rows = self._reporting_rows(log0)
        lags = [r.lag_seconds for r in rows]
        half = {"events": len(rows), "lag_p50_s": pct(lags, 0.5), "lag_p99_s": pct(lags, 0.99),
                "lag_max_s": pct(lags, 1.0),
                "relay_lag_p99_s": pct([x for s in sources
                                        for x in self._relay_lags(s, marks[s])], 0.99),
                "by_source": {}}
        for s, srows in self._by_source(rows).items():
            slags = [r.lag_seconds for r in srows]
            half["by_source"][s] = {
                "writes_per_s_target": round(rates[s], 1),
                "writes_per_s": round(paced[s]["calls_per_s"], 1), "events": len(srows),
                "lag_p50_s": pct(slags, 0.5), "lag_p99_s": pct(slags, 0.99),
                "relay_lag_p99_s": pct(self._relay_lags(s, marks[s]), 0.99)}
        fresh = self.call("reporting", "freshness", actor=MANAGER)
        self.res["figures"]["R4"] = {
            "what": " + ".join(f"{svc}.{m} ({n} callers)"
                               for svc, m, _, n, _ in self.R4_SOURCES)
                    + " at once -> outboxes -> relays -> reporting.apply_event",
            "sustained_events_per_s": sustained, "reps": runs,
            "paired_ceiling_reps": c3, "paired_ceiling": c3_med,
            "paired_ratio": round(statistics.median(
                r["applied_per_s"] / c for r, c in zip(runs, c3, strict=False) if c), 3),
            "by_source": by_source,
            "half_rate": half,
            "freshness_rpc": fresh,
            "reporting_cpu_ms_per_event": statistics.median(
                r["reporting_cpu_ms_per_event"] for r in runs)}
        self.say(f"  by source: {by_source}")
        self.say(f"  half rate: {half}")
        self.res["figures"]["R4"]["drain"] = self._r4_drain()

    def _r4_drain(self):
        """reporting's own apply rate: both sources write while reporting is stopped (the
        events wait in its durable queues), then reporting starts and drains the
        backlog; applied/s over the applied_at span, vs C3 measured right before."""
        c3 = self.c3_rep()["events_per_s"]
        self.stack.stop("reporting")
        log0, marks = self._max_log_id(), self._outbox_marks()
        loads = self._r4_loads(self.m["r4_drain_dur"])
        wait_until(lambda: self._unsent() == 0, 120, 0.5, what="outboxes sent")
        self.stack.start("reporting", "services.reporting.service:ReportingService")
        # CPU per event from the first applied event on (start-up and imports excluded)
        wait_until(lambda: self._max_log_id() > log0, 120, 0.02, what="reporting started")
        cpu0, log1 = self._cpu_s("reporting"), self._max_log_id()
        self._settle(log0, marks, timeout=600)
        cpu = self._cpu_s("reporting") - cpu0
        rows = self._reporting_rows(log0)
        after = sum(1 for r in rows if r.id > log1)
        wait_until(lambda: self.call("reporting", "freshness", timeout=3), 90, what="reporting")
        out = {"writes": sum(r["calls"] for r in loads.values()), "events": len(rows),
               "by_source": {s: {"writes": loads[s]["calls"], "events": len(srows)}
                             for s, srows in self._by_source(rows).items()},
               "applied_per_s": self._r4_applied(rows), "paired_ceiling": c3,
               "paired_ratio": ratio(self._r4_applied(rows), c3),
               "reporting_cpu_ms_per_event": round(1000 * cpu / max(after, 1), 3)}
        self.say(f"  drain of a backlog: {out}")
        return out

    def r5(self):
        n = self.m["r5_customers"]
        t0 = time.time()
        events = datagen.load_event_log(self.sqlite["reporting"], n)
        load_s = time.time() - t0
        self.say(f"  loaded {events} events in {load_s:.0f}s; rebuild ...")
        t0, cpu0 = time.time(), self._cpu_s("reporting")
        counts = self.call("reporting", "rebuild", timeout=7200)
        rebuild_s, rebuild_cpu = time.time() - t0, self._cpu_s("reporting") - cpu0
        self.say(f"  rebuild {counts} in {rebuild_s:.0f}s ({rebuild_cpu:.0f}s CPU)")
        import sqlite3
        with sqlite3.connect(f"{self.sqlite_dir}/reporting.db") as c:
            sizes = {t: c.execute(f"select count(*) from {t}").fetchone()[0]
                     for t in ("event_log", "kpi_month", "rpt_customers", "rpt_closed_spans")}
        kpis = {}
        for period in ("2024-06", "2024-Q2", "2024"):
            for scope_name, scope in (("company", None), ("owner", {"owner_id": "u17"}),
                                      ("department", {"department": "sales"})):
                lat = []
                for _ in range(10):  # warm-up: statement compilation, page cache
                    self._kpi_client.call(period, scope)
                for _ in range(self.m["r5_calls"]):
                    t = time.perf_counter()
                    self._kpi_client.call(period, scope)
                    lat.append((time.perf_counter() - t) * 1000)
                kpis[f"{period}/{scope_name}"] = {"p50_ms": pct(lat, 0.5),
                                                  "p99_ms": pct(lat, 0.99)}
        self.res["figures"]["R5"] = {
            "customers": n, "events_loaded": events, "bulk_load_s": round(load_s, 1),
            "rebuild_s": round(rebuild_s, 1), "rebuild_counts": counts, "table_rows": sizes,
            "rebuild_events_per_s": round(counts["events"] / rebuild_s, 1),
            "rebuild_cpu_s": round(rebuild_cpu, 1),
            "rebuild_events_per_cpu_s": round(counts["events"] / max(rebuild_cpu, 1e-6), 1),
            "get_kpis": kpis,
            "p99_worst_ms": max(v["p99_ms"] for k, v in kpis.items()
                                if not k.endswith("/department")),
            "p99_worst_department_ms": max(v["p99_ms"] for k, v in kpis.items()
                                           if k.endswith("/department")),
            "client": "1 caller, sequential RPC (persistent connection)"}
        # the box's RPC noise floor right after: a bare echo, 1 caller
        echo = loadgen.run_load(self.uri, "bench_echo", "echo", "echo", callers=1,
                                duration=self.m["dur"], warmup=self.m["warm"])
        self.res["figures"]["R5"]["echo_rpc_1_caller"] = {
            "p50_ms": pct(echo["latencies_ms"], 0.5), "p99_ms": pct(echo["latencies_ms"], 0.99)}
        self.say(f"  get_kpis: {kpis}; bare echo {self.res['figures']['R5']['echo_rpc_1_caller']}")

    def list_customers(self):
        """Issue 20: ``list_customers`` p50/p99 per case at 100k and 1M customers on
        PostgreSQL and SQLite (``bench.lists``: in-process calls on databases loaded
        straight into the schema, kept under var/bench-cache for the next run); also
        written to bench/results/list_customers.{json,md}."""
        from bench import lists
        quick = self.mode_name == "quick"
        figures = lists.run(sizes=("100k",) if quick else ("100k", "1M"),
                            calls=50 if quick else 200)
        if not quick:  # a smoke run does not replace the measured figures
            lists.write(figures)
        self.res["figures"].update(figures)

    def duplicates(self):
        """Issue 20: the duplicate check's cost per create and per 100k imported rows on
        SQLite and PostgreSQL (``bench.duplicates``: in-process on 100k preloaded
        customers); also written to bench/results/duplicates.{json,md}."""
        from bench import duplicates
        quick = self.mode_name == "quick"
        res = duplicates.run(rows=10000 if quick else 100000, calls=200 if quick else 2000,
                             import_rows=10000 if quick else 100000)
        duplicates.write(res)
        self.res["figures"].update(duplicates.figures(res))

    def w1(self):
        """The customers workspace's pages at 100k customers (bench/pages.py)."""
        from bench import pages
        n = 5000 if self.mode_name == "quick" else 100000
        self.res["figures"]["W1"] = pages.run(self, n, 10 if self.mode_name == "quick" else 40)

    def w2(self):
        """The sales workspace's board and lists at 100k opportunities (bench/sales_pages.py)."""
        from bench import sales_pages
        n = 5000 if self.mode_name == "quick" else 100000
        self.res["figures"]["W2"] = sales_pages.run(self, n,
                                                    10 if self.mode_name == "quick" else 40)

    def w3(self):
        """The service desk's queue at 100k tickets (bench/workspace_lists.py)."""
        from bench import workspace_lists
        n = 5000 if self.mode_name == "quick" else 100000
        self._start_desk()
        try:
            self.res["figures"]["W3"] = workspace_lists.run_desk(
                self, n, 10 if self.mode_name == "quick" else 40)
        finally:
            self.stack.stop("service_desk")

    def w4(self):
        """The marketing campaign list at 10k campaigns (bench/workspace_lists.py)."""
        from bench import workspace_lists
        from services.common.migrate import upgrade
        m = 1000 if self.mode_name == "quick" else 10000
        upgrade("marketing", self.sqlite["marketing"])
        self.stack.start("marketing", "services.marketing.service:MarketingService")
        wait_until(lambda: self.call("marketing", "campaign_counts", actor=MARKETER, timeout=3),
                   90, what="marketing")
        try:
            self.res["figures"]["W4"] = workspace_lists.run_campaigns(
                self, m, 10 if self.mode_name == "quick" else 40)
        finally:
            self.stack.stop("marketing")

    def pg_phase(self):
        st = self.stack
        st.stop("customers_gateway")
        st.stop("customers")
        pg = {"customers": self.pg_url}
        st.start("customers_pg", "services.customers.service:CustomersService", db_urls=pg)
        wait_until(lambda: self.call("customers", "list_customers", actor=STAFF, timeout=3), 90,
                   what="customers (PostgreSQL)")
        self.phase("R2pg", lambda: self.r2_r1("postgresql"))
        if self.want("R8"):
            self.r8(pg)

    def r8(self, pg):
        figs = self.res["figures"]
        one_get = figs["R1"]["postgresql"]["32"]
        one_create = figs["R2"]["postgresql"]["32"]
        echo_one = self.measure("bench_echo", "echo", "echo", 32)
        self.stack.start("customers_pg2", "services.customers.service:CustomersService",
                         db_urls=pg)
        self.stack.start("bench_echo2", "bench.bare:BenchEcho")
        time.sleep(12)  # both new processes import and connect
        two_get = self.measure("customers", "get_customer", "get_customer", 32, actor=STAFF,
                               extra={"ids": self.ids})
        two_create = self.measure("customers", "create_customer", "create_customer", 32,
                                  actor=STAFF)
        two_echo = self.measure("bench_echo", "echo", "echo", 32)
        figs["R8"] = {
            "what": "2 processes of customers (PostgreSQL) on one queue vs 1; 32 callers",
            "get_customer": {"one": one_get["calls_per_s"], "two": two_get["calls_per_s"],
                             "ratio": ratio(two_get["calls_per_s"], one_get["calls_per_s"])},
            "create_customer": {"one": one_create["calls_per_s"],
                                "two": two_create["calls_per_s"],
                                "ratio": ratio(two_create["calls_per_s"],
                                               one_create["calls_per_s"])},
            "bare_echo": {"one": echo_one and echo_one["calls_per_s"],
                          "two": two_echo["calls_per_s"],
                          "ratio": ratio(two_echo["calls_per_s"],
                                         echo_one and echo_one["calls_per_s"])}}
        self.say(f"  R8: {figs['R8']}")

    # --- the run -------------------------------------------------------------------------
    def run(self):
        t_start = time.time()
        if self.only and all(k.startswith(("list_customers", "duplicates"))
                             for k in self.only):  # in-process: no bus, no stack
            self.phase("list_customers", self.list_customers)
            self.phase("duplicates", self.duplicates)
            self.res["meta"]["duration_s"] = round(time.time() - t_start, 1)
            return self.res
        self.setup()
        try:
            self.say(f"vhost {self.vhost.name}, logs in {self.log_dir}")
            self.start_main()
            self._kpi_client = _KpiClient(self.uri, MANAGER)
            self.phase("C1", self.c1)
            self.phase("C2", self.c2)
            self.phase("C3", self.c3)
            self.phase("R2", lambda: self.r2_r1("sqlite"))
            self.phase("R3", self.r3)
            self.phase("R7", self.r7)
            self.phase("R6", self.r6)
            self.phase("R4", self.r4)
            self.phase("R5", self.r5)
            self.phase("W1", self.w1)
            self.phase("list_customers", self.list_customers)
            self.phase("duplicates", self.duplicates)
            self.phase("W2", self.w2)
            self.phase("W3", self.w3)
            self.phase("W4", self.w4)
            if self.want("R2pg") or self.want("R8"):
                self.phase("PG", self.pg_phase)
            self._kpi_client.close()
        finally:
            for name, proc in self.stack.procs.items():
                if proc.poll() is not None:
                    self.res["errors"][f"process {name}"] = f"exited with {proc.returncode}"
            self.teardown()
        self.res["meta"]["duration_s"] = round(time.time() - t_start, 1)
        return self.res


class _KpiClient:
    """A persistent-connection RPC client for sequential latency samples."""

    def __init__(self, uri, actor):
        import uuid

        from kombu import Connection, Consumer, Producer, Queue
        self.key = uuid.uuid4().hex
        self.conn = Connection(uri, heartbeat=0)
        ch = self.conn.channel()
        q = Queue(f"rpc.reply-bench-{self.key}", loadgen.RPC_EXCHANGE, routing_key=self.key,
                  exclusive=True, auto_delete=True)
        self.producer = Producer(ch, exchange=loadgen.RPC_EXCHANGE, serializer="json")
        self.reply = {}
        self.consumer = Consumer(ch, [q], callbacks=[self._on], no_ack=True, accept=["json"])
        self.consumer.consume()
        self.headers = loadgen.identity_headers(actor)

    def _on(self, body, message):
        self.reply[message.properties["correlation_id"]] = body

    def call(self, period, scope):
        import uuid
        cid = uuid.uuid4().hex
        self.producer.publish({"args": [period, scope], "kwargs": {}},
                              routing_key="reporting.get_kpis", reply_to=self.key,
                              correlation_id=cid, headers=self.headers, retry=False)
        while cid not in self.reply:
            self.conn.drain_events(timeout=30)
        body = self.reply.pop(cid)
        if body.get("error"):
            raise RuntimeError(body["error"])
        return body["result"]

    def close(self):
        self.conn.release()


def _kombu_consumer(uri, queue_name, n, out):

    from kombu import Connection, Consumer, Queue
    got, first = [0], [None]
    with Connection(uri, heartbeat=0) as conn:
        ch = conn.channel()
        ch.basic_qos(0, 200, False)

        def on(body, message):
            if first[0] is None:
                first[0] = time.time()
            got[0] += 1
            message.ack()
        with Consumer(ch, [Queue(queue_name, durable=True)], callbacks=[on], accept=["json"]):
            out.put("ready")
            deadline = time.time() + 300
            while got[0] < n and time.time() < deadline:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    pass
    out.put({"consumed": got[0], "last": time.time()})


def _kombu_ceiling(uri, n):
    import multiprocessing as mp
    import uuid

    from kombu import Connection, Exchange, Producer, Queue
    name = f"bench-c1-{uuid.uuid4().hex[:6]}"
    ex = Exchange("bench.c1", type="direct", durable=True)
    with Connection(uri) as conn:
        Queue(name, ex, routing_key=name, durable=True)(conn.channel()).declare()
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    cons = ctx.Process(target=_kombu_consumer, args=(uri, name, n, out), daemon=True)
    cons.start()
    out.get(timeout=60)
    body = {"pad": "x" * 1000}
    with Connection(uri, transport_options={"confirm_publish": True}, heartbeat=0) as conn:
        producer = Producer(conn.channel(), exchange=ex)
        t0 = time.time()
        for _ in range(n):
            producer.publish(body, routing_key=name, delivery_mode=2, serializer="json",
                             retry=False)
        t_pub = time.time()
    res = out.get(timeout=600)
    cons.join(timeout=10)
    with Connection(uri) as conn:
        Queue(name, ex, routing_key=name, durable=True)(conn.channel()).delete()
    return {"msgs_per_s": round(res["consumed"] / (res["last"] - t0), 1),
            "publish_per_s": round(n / (t_pub - t0), 1)}


_WRK_GET = """
local ids = {%s}
local tokens = {%s}
c429 = 0
request = function()
  local id = ids[math.random(#ids)]
  local token = tokens[math.random(#tokens)]
  return wrk.format("GET", "/customers/" .. id, {["Authorization"] = "Bearer " .. token})
end
"""

_WRK_POST = """
local file = "%s"
local tokens = {%s}
local bodies, n, idx = {}, 0, 0
tid = 0
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
c409, c422, c4xx, c5xx = 0, 0, 0, 0
response = function(status, headers, body)
  if status == 409 or status == 429 then c409 = c409 + 1
  elseif status == 422 or status == 400 then c422 = c422 + 1
  elseif status >= 500 then c5xx = c5xx + 1
  elseif status >= 400 then c4xx = c4xx + 1 end
end
function done(summary, latency, requests)
  local a, b, c, d = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("c409"); b = b + t:get("c422"); c = c + t:get("c4xx"); d = d + t:get("c5xx")
  end
  io.write(string.format("STATUS 409_or_429=%%d 4xx_validation=%%d 4xx_other=%%d "
                         .. "5xx=%%d\\n", a, b, c, d))
end
function init(args)
  local i = 0
  for line in io.lines(file) do
    if i %% 2 == tid then n = n + 1; bodies[n] = line end
    i = i + 1
  end
end
request = function()
  idx = idx + 1
  if idx > n then idx = 1 end
  local token = tokens[math.random(#tokens)]
  return wrk.format("POST", "/customers", {["Authorization"] = "Bearer " .. token,
                    ["Content-Type"] = "application/json"}, bodies[idx])
end
"""


def _wrk(url, script, seconds, conns):
    proc = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency",
                           "-s", str(script), url], capture_output=True, text=True,
                          timeout=seconds + 60)
    text = proc.stdout + proc.stderr
    out = {"raw_tail": text[-400:]}

    def ms(token):
        token = token.strip()
        for unit, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60000.0)):
            if token.endswith(unit):
                return round(float(token[: -len(unit)]) * f, 3)
        return None
    for line in text.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            out["requests_per_s"] = float(parts[1])
        elif len(parts) == 2 and parts[0] in ("50%", "99%"):
            out["p50_ms" if parts[0] == "50%" else "p99_ms"] = ms(parts[1])
        elif line.strip().startswith("Non-2xx"):
            out["non_2xx"] = int(parts[-1])
        elif line.startswith("STATUS"):
            out["errors_by_status"] = dict(kv.split("=") for kv in parts[1:])
        elif "requests in" in line:
            out["requests"] = int(parts[0])
    return out


def _summ(runs, rpc=None):
    ok = [r for r in runs if "requests_per_s" in r]
    if not ok:
        return {"error": runs[-1].get("raw_tail") if runs else "no run"}  # wrk failed
    paired = {}
    if rpc:
        paired = {"paired_rpc_reps": rpc, "paired_ceiling": statistics.median(rpc),
                  "paired_ratio": round(statistics.median(
                      r["requests_per_s"] / c for r, c in zip(runs, rpc, strict=False)
                      if c and "requests_per_s" in r), 3)}
    return {**paired, "requests_per_s": statistics.median(r["requests_per_s"] for r in ok),
            "reps": [r["requests_per_s"] for r in ok],
            "p50_ms": statistics.median(r.get("p50_ms") or 0 for r in ok),
            "p99_ms": max(r.get("p99_ms") or 0 for r in ok),
            "non_2xx": sum(r.get("non_2xx", 0) for r in ok),
            "errors_by_status": [r.get("errors_by_status") or r.get("raw_tail")
                                 for r in ok if r.get("non_2xx")]}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smoke run (< ~3 min)")
    ap.add_argument("--long", action="store_true", help="R7 memory over 10 minutes")
    ap.add_argument("--only", default="",
                    help="comma list: C1,C2,C3,R2,R3,R4,R5,R6,R7,R2pg,R8,W1,W2,W3,W4,"
                         "list_customers,duplicates")
    ap.add_argument("--profile", default="",
                    help="py-spy these phases (R2,R3,R4,R5,R6) -> results/profile-*.txt")
    ap.add_argument("--out", default=str(RESULTS), help="results folder")
    args = ap.parse_args(argv)
    import signal
    # started in the background a shell ignores SIGINT: make both signals stop the run
    # through the normal path, so the vhost, databases and processes are removed.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench("quick" if args.quick else "default", long=args.long,
                  only=[x.strip() for x in args.only.split(",") if x.strip()],
                  profile=[x.strip() for x in args.profile.split(",") if x.strip()])
    res = bench.run()
    json_path, md_path = write_reports(res, Path(args.out))
    print(md_path.read_text(encoding="utf-8"))
    print(f"wrote {json_path} and {md_path}")
    return 1 if res["errors"] else 0
