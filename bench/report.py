"""Ratios, targets and the Markdown table of a run (bench/results/latest.{json,md})."""
import json


def _g(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def _r(a, b):
    return round(a / b, 3) if a and b else None


def _top(breakdown, n=5):
    """The biggest CPU consumers of a call, as 'name ms' pairs."""
    skip = {"machine", "window_s", "machine_busy_cores", "serving"}
    items = sorted(((k, v) for k, v in (breakdown or {}).items()
                    if k not in skip and isinstance(v, (int, float)) and v > 0.01),
                   key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{k} {v:.2f}" for k, v in items)


def evaluate(res):
    """[(id, figure, ours, ceiling/base, ratio, target, met)] from the raw results."""
    c, f = res["ceilings"], res["figures"]
    c2_32 = _g(c, "C2", "by_callers", "32", "calls_per_s")
    c3 = _g(c, "C3", "events_per_s")
    rows = []

    def add(key, what, ours, base, target, ok_fn, unit="/s", paired=None):
        r = _r(ours, base)
        if paired and paired.get("paired_ratio") is not None:
            # the ceiling measured next to each repetition: the fair ratio on a shared box
            base, r = paired["paired_ceiling"], paired["paired_ratio"]
        met = ok_fn(r, ours) if (ours is not None) else None
        rows.append({"id": key, "what": what, "ours": ours, "base": base, "ratio": r,
                     "target": target, "met": met, "unit": unit})

    add("C1", "kombu publish+consume, 1 KB persistent, confirms (msgs/s)",
        _g(c, "C1", "msgs_per_s"), None, "ceiling", lambda r, o: None)
    for n in ("1", "8", "32"):
        m = _g(c, "C2", "by_callers", n) or {}
        add(f"C2@{n}", f"bare nameko echo RPC, {n} callers (calls/s; p50/p99 "
            f"{m.get('p50_ms')}/{m.get('p99_ms')} ms)", m.get("calls_per_s"), None, "ceiling",
            lambda r, o: None)
    kit = _g(c, "C2", "kit_echo_32") or {}
    add("C2 kit", "the same echo on the services' RPC entrypoint (replies unconfirmed, "
        "transient) @32 vs C2@32: the reply path's share of R1/R2's ratios",
        kit.get("calls_per_s"), c2_32, "reported", lambda r, o: None, paired=kit)
    add("C3", "bare nameko event dispatch -> handler (events/s)", c3, None, "ceiling",
        lambda r, o: None)
    for be in ("sqlite", "postgresql"):
        g = _g(f, "R1", be, "32") or {}
        add(f"R1 {be}", f"customers.get_customer @32 vs C2@32 (p50/p99 {g.get('p50_ms')}/"
            f"{g.get('p99_ms')} ms)", g.get("calls_per_s"), c2_32, ">= 0.70",
            lambda r, o: r is not None and r >= 0.70, paired=g)
    for be in ("sqlite", "postgresql"):
        g = _g(f, "R2", be, "32") or {}
        add(f"R2 {be}", f"customers.create_customer @32 vs C2@32 (p50/p99 {g.get('p50_ms')}/"
            f"{g.get('p99_ms')} ms)", g.get("calls_per_s"), c2_32, ">= 0.40",
            lambda r, o: r is not None and r >= 0.40, paired=g)
    for fig in ("R1", "R2"):  # what bounds the ratio on this box (bench.cpu)
        for be in ("sqlite", "postgresql"):
            cp = _g(f, fig, be, "cpu_ms_per_call") or {}
            if cp.get("machine_bound_ratio") is None:
                continue
            add(f"{fig} {be} bound", "machine CPU per echo / per our call (ms, all processes:"
                f" {_top(cp.get('breakdown_ours'))})", cp.get("machine_ours"),
                cp.get("machine_echo"), "reported", lambda r, o: None, unit="ms")
            rows[-1]["ratio"] = cp["machine_bound_ratio"]
    r1 = _g(f, "R1", "sqlite", "32", "calls_per_s")
    r2 = _g(f, "R2", "sqlite", "32", "calls_per_s")
    for name, base in (("get_customer", r1), ("create_customer", r2)):
        g = _g(f, "R3", name) or {}
        add(f"R3 {name}", f"HTTP+JWT via customers gateway, wrk 32 conns, vs RPC @32 SQLite "
            f"(p50/p99 {g.get('p50_ms')}/{g.get('p99_ms')} ms)", g.get("requests_per_s"), base,
            ">= 0.60", lambda r, o: r is not None and r >= 0.60, paired=g)
    for name, fig in (("get_customer", "R1"), ("create_customer", "R2")):
        http = _g(f, "R3", name, "cpu_ms_per_request") or {}
        rpc = _g(f, fig, "sqlite", "cpu_ms_per_call", "breakdown_ours") or {}
        if http.get("machine") and rpc.get("machine"):
            add(f"R3 {name} bound", "machine CPU per RPC / per HTTP request (ms, all "
                f"processes: {_top(http)})", http["machine"], rpc["machine"], "reported",
                lambda r, o: None, unit="ms")
            rows[-1]["ratio"] = round(rpc["machine"] / http["machine"], 3)
    sources = _g(f, "R4", "by_source") or {}
    names = " + ".join(sources) if sources else "sales"
    add("R4", f"{names} writes at once -> outboxes -> relays -> reporting applied "
        "(events/s) vs C3", _g(f, "R4", "sustained_events_per_s"), c3, ">= 0.30",
        lambda r, o: r is not None and r >= 0.30, paired=_g(f, "R4"))
    for name, g in sources.items():  # each source's share of the same runs
        add(f"R4 {name}", f"its events applied, same runs ({g.get('writes_per_s')} writes/s, "
            f"{g.get('cpu_ms_per_write')} ms CPU of {name} per write)",
            g.get("sustained_events_per_s"), c3, "reported", lambda r, o: None, paired=g)
    lag = _g(f, "R4", "half_rate", "lag_p99_s")
    add("R4 lag", f"outbox-commit -> KPI lag p99 at 50 % of sustained rate, {names} (s)",
        lag, None, "< 1 s", lambda r, o: o < 1.0, unit="s")
    add("R5", f"reporting.get_kpis p99, worst of month/quarter/year x company/owner "
        f"({_g(f, 'R5', 'customers')} customers, {_g(f, 'R5', 'events_loaded')} events; "
        f"rebuild {_g(f, 'R5', 'rebuild_s')} s)", _g(f, "R5", "p99_worst_ms"), None, "< 50 ms",
        lambda r, o: o < 50, unit="ms")
    rows6 = _g(f, "R6", "rows")
    secs = _g(f, "R6", "seconds")
    add("R6", f"crm import customers, {rows6} rows, 1 % bad ({_g(f, 'R6', 'rows_per_s')} "
        f"rows/s; {_g(f, 'R6', 'rejected_rows_reported')} rejected)", secs, None,
        "< 60 s (100k rows)", lambda r, o: (o * 100000 / rows6) < 60 if rows6 else None,
        unit="s")
    per = _g(f, "R7", "under_load") or {}
    if per:
        peak = max(v["peak_mb"] for v in per.values())
        growths = [v["growth_last_half_pct"] for v in per.values()
                   if v["growth_last_half_pct"] is not None]
        grow = max(growths) if growths else None
        add("R7", f"RSS peak of any service process under R2 load, {_g(f, 'R7', 'window_s')} s "
            f"window (max growth over the last half {grow} %)", peak, None,
            "< 150 MB, < 10 % growth", lambda r, o: o < 150 and (grow is None or grow < 10),
            unit="MB")
    for k in ("get_customer", "create_customer", "bare_echo"):
        g = _g(f, "R8", k) or {}
        add(f"R8 {k}", "2 competing consumer processes vs 1 (throughput ratio)", g.get("two"),
            g.get("one"), "reported", lambda r, o: None)
    for key in sorted(k for k in f if k.startswith("list_customers ")):  # issue 20
        g = f[key]
        add(key, f"p99 ms (p50 {g.get('p50_ms')} ms; total "
            f"{'~' if g.get('total_is_estimate') else ''}{g.get('total')})", g.get("p99_ms"),
            None, f"< {g.get('target_p99_ms'):.0f} ms",
            lambda r, o, t=g.get("target_p99_ms"): o is not None and o < t, unit=" ms")
    for key in sorted(k for k in f if k.startswith("duplicates create ")):  # issue 20
        g = f[key]
        add(key, f"duplicate check of one create/update, p99 ms (p50 {g.get('p50_ms')} ms, "
            f"{g.get('cpu_ms')} ms CPU)", g.get("p99_ms"), None, "reported",
            lambda r, o: None, unit=" ms")
    for key in sorted(k for k in f if k.startswith("duplicates import ")):
        g = f[key]
        add(key, f"duplicate check per 100k imported rows, s ({g.get('cpu_s_per_100k')} s "
            f"CPU; {g.get('rows_warned_pct')} % of rows warned)", g.get("s_per_100k"), None,
            "part of R6 (< 60 s)", lambda r, o: None, unit=" s")
    for wid, what in (("W1", "customers workspace"), ("W2", "sales workspace"),
                      ("W3", "service desk queue"), ("W4", "marketing campaign list")):
        g = _g(f, wid) or {}
        size = ", ".join(f"{g[k]:,} {k}" for k in ("customers", "opportunities", "leads",
                                                   "orders", "tickets", "campaigns")
                         if isinstance(g.get(k), int))
        load = g.get("loadavg_at_start")
        for case, r in g.items():
            if not isinstance(r, dict) or "p95_ms" not in r:
                continue
            cpu = r.get("cpu_ms_per_request")
            add(f"{wid} {case}", f"{what} page p95 ms ({size}; p50 {r.get('p50_ms')} ms"
                + (f", {cpu} ms CPU per request" if cpu is not None else "")
                + (f"; load {load[0]}" if load else "") + ")", r.get("p95_ms"), None,
                f"< {g.get('bound_p95_ms', 300)} ms",
                lambda rr, o, b=g.get("bound_p95_ms", 300): o is not None and o < b,
                unit=" ms")
    return rows


def _fmt(v):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
    return str(v)


def markdown(res, rows):
    m = res["meta"]
    out = [f"# Benchmark results ({m.get('mode')} mode, {m.get('started_at')}, "
           f"{m.get('cpus')} CPUs, {m.get('duration_s')} s)", "",
           "Ratios of R1-R4 are medians of per-repetition ratios against the ceiling "
           "(or RPC base) measured right next to each repetition; the ceiling column "
           "shows their median. C rows are the stand-alone ceiling phases.", "",
           "| id | figure | ours | ceiling / base | ratio | target | met |",
           "|---|---|---:|---:|---:|---|---|"]
    for r in rows:
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        out.append(f"| {r['id']} | {r['what']} | {_fmt(r['ours'])} | {_fmt(r['base'])} | "
                   f"{_fmt(r['ratio'])} | {r['target']} | {met} |")
    if res.get("errors"):
        out += ["", "Errors:", ""] + [f"- {k}: {v}" for k, v in res["errors"].items()]
    out += ["", "Command: `.venv/bin/python -m bench" +
            (" --quick" if m.get("mode") == "quick" else "") + "` (raw figures: latest.json)"]
    return "\n".join(out) + "\n"


def write_reports(res, folder):
    folder.mkdir(parents=True, exist_ok=True)
    rows = evaluate(res)
    res["table"] = rows
    json_path, md_path = folder / "latest.json", folder / "latest.md"
    json_path.write_text(json.dumps(res, indent=2, ensure_ascii=False, default=str) + "\n",
                         encoding="utf-8")
    md_path.write_text(markdown(res, rows), encoding="utf-8")
    return json_path, md_path
