"""Load generator: closed-loop (or paced) callers of nameko RPC, in separate processes.

Each process keeps ``callers`` calls in flight on one AMQP connection (the
nameko wire protocol: ``nameko-rpc`` exchange, ``<service>.<method>`` routing
key, reply queue bound by a uuid, identity in the ``nameko.authorization`` header:
a user's or the ``bench`` service principal's JWT) and
records the latency of every reply. No greenthreads and no per-call
connections, so the generator costs far less CPU than the services it drives.
"""
import multiprocessing as mp
import random
import time
import uuid

from kombu import Connection, Consumer, Exchange, Producer, Queue

RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)


# --- argument makers (run inside the worker process) ------------------------------------
def _customer_maker(seed):
    from services.common.cli.demo import make_uscc
    rng = random.Random(seed)
    counter = [0]

    def make():
        counter[0] += 1
        n = counter[0]
        return ([{
            "name": f"基准测试机械有限公司{seed}-{n}",
            "uscc": make_uscc(rng, rng.choice(("310000", "110000", "440300"))),
            "industry_code": "C35", "region": "上海", "type": "potential",
            "tags": ["展会获取"], "annual_budget": "120000.00",
            "contacts": [{"name": "王芳", "title": "采购经理",
                          "mobile": f"139{rng.randint(0, 99999999):08d}",
                          "email": "wang@example.cn", "is_primary": True}],
        }], {})
    return make


def _lead_maker(seed):
    rng = random.Random(seed)
    counter = [0]

    def make():
        counter[0] += 1
        return ([{"source": "website", "customer_name": f"基准线索公司{seed}-{counter[0]}",
                  "contact_name": "李雷", "region": "上海", "industry_code": "C35",
                  "owner_id": f"u{rng.randint(1, 20)}"}], {})
    return make


def _ticket_maker(seed):
    """service_desk.open_ticket without a customer_id: no customers RPC per call (a
    ticket for a known customer would add customers.get_customer before the write)."""
    rng = random.Random(seed)
    counter = [0]
    kinds, severities = ("inquiry", "complaint", "suggestion"), ("high", "medium", "low")

    def make():
        counter[0] += 1
        return ([{"kind": rng.choice(kinds), "severity": rng.choice(severities),
                  "customer_id": None, "complainant_name": "王芳",
                  "complainant_contact": "wang@example.cn", "channel": "phone",
                  "category": "delivery", "subject": f"基准工单{seed}-{counter[0]}",
                  "description": "送货延迟，请尽快处理"}], {})
    return make


def make_args(kind, seed, extra):
    if kind == "echo":
        payload = "x" * int(extra.get("size", 100))
        return lambda: ([payload], {})
    if kind == "get_customer":
        ids = extra["ids"]
        rng = random.Random(seed)
        return lambda: ([rng.choice(ids)], {})
    if kind == "create_customer":
        return _customer_maker(seed)
    if kind == "create_lead":
        return _lead_maker(seed)
    if kind == "open_ticket":
        return _ticket_maker(seed)
    if kind == "get_kpis":
        period, scope = extra["period"], extra.get("scope")
        return lambda: ([period, scope], {})
    if kind == "fixed":
        return lambda: (list(extra.get("args", [])), dict(extra.get("kwargs", {})))
    raise ValueError(kind)


def identity_headers(actor=None):
    """The ``nameko.*`` headers that authenticate a call (every service verifies them):
    a user token minted for ``actor``, else the ``bench`` service principal's."""
    from services.common.cli.rpc_client import identity_context
    from services.common.config import load_config
    context = identity_context(load_config(), actor, service="bench", ttl_minutes=240)
    return {f"nameko.{k}": v for k, v in context.items()}


# --- one worker process ---------------------------------------------------------------------
def _worker(spec, out):
    uri, service, method = spec["uri"], spec["service"], spec["method"]
    callers, duration, warmup = spec["callers"], spec["duration"], spec["warmup"]
    rate = spec.get("rate")  # calls/s for this process (paced, open loop), else closed loop
    make = make_args(spec["kind"], spec["seed"], spec.get("extra") or {})
    headers = identity_headers(spec.get("actor"))
    key = uuid.uuid4().hex
    lat, errors, sent = [], {}, [0]
    inflight = {}
    t_start = spec["start_at"]
    t_measure = t_start + warmup
    t_end = t_measure + duration
    done_in_window = [0]
    with Connection(uri, heartbeat=0) as conn:
        channel = conn.channel()
        queue = Queue(f"rpc.reply-bench-{key}", RPC_EXCHANGE, routing_key=key,
                      exclusive=True, auto_delete=True)
        producer = Producer(channel, exchange=RPC_EXCHANGE, serializer="json")

        def send():
            args, kwargs = make()
            cid = uuid.uuid4().hex
            inflight[cid] = time.time()
            sent[0] += 1
            producer.publish({"args": args, "kwargs": kwargs}, routing_key=f"{service}.{method}",
                             reply_to=key, correlation_id=cid, headers=headers,
                             delivery_mode=1, retry=False)

        def on_reply(body, message):
            now = time.time()
            t0 = inflight.pop(message.properties.get("correlation_id"), None)
            if t0 is None:
                return
            err = body.get("error") if isinstance(body, dict) else None
            if err:
                name = err.get("exc_type", "error")
                errors[name] = errors.get(name, 0) + 1
            if t_measure <= now <= t_end:
                done_in_window[0] += 1
                lat.append(now - t0)
            if rate is None and now < t_end:
                send()

        with Consumer(channel, [queue], callbacks=[on_reply], no_ack=True,
                      accept=["json"]):
            while time.time() < t_start:
                time.sleep(0.001)
            if rate is None:
                for _ in range(callers):
                    send()
                while time.time() < t_end:
                    try:
                        conn.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass
            else:
                interval, next_at = 1.0 / rate, time.time()
                while time.time() < t_end:
                    now = time.time()
                    if now >= next_at and len(inflight) < callers:
                        send()
                        next_at += interval
                        continue
                    try:
                        conn.drain_events(timeout=max(0.0005, min(next_at - now, 0.05)))
                    except TimeoutError:
                        pass
            drain_until = time.time() + spec.get("tail", 30)
            while inflight and time.time() < drain_until:
                try:
                    conn.drain_events(timeout=0.5)
                except TimeoutError:
                    pass
    out.put({"lat": lat, "done": done_in_window[0], "sent": sent[0], "errors": errors,
             "lost": len(inflight)})


def run_load(uri, service, method, kind, callers=1, duration=5.0, warmup=1.0, actor=None,
             procs=None, extra=None, rate=None, seed=None, tail=30, start_at=None):
    """Run ``callers`` concurrent callers across ``procs`` processes for ``duration`` s
    after ``warmup`` s. Returns throughput (calls/s in the window) and latencies (ms)."""
    procs = procs or (1 if callers < 8 else 2)
    procs = min(procs, callers)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    start_at = start_at or time.time() + 1.5  # let every process connect first
    seed = seed if seed is not None else random.randrange(1 << 30)
    workers = []
    for i in range(procs):
        share = callers // procs + (1 if i < callers % procs else 0)
        spec = {"uri": uri, "service": service, "method": method, "kind": kind,
                "callers": share, "duration": duration, "warmup": warmup, "actor": actor,
                "extra": extra, "seed": seed * 100 + i, "start_at": start_at, "tail": tail,
                "rate": (rate / procs) if rate else None}
        p = ctx.Process(target=_worker, args=(spec, out), daemon=True)
        p.start()
        workers.append(p)
    results, deadline = [], time.time() + 1.5 + duration + warmup + tail + 60
    while len(results) < len(workers):
        try:
            results.append(out.get(timeout=1))
        except Exception:  # queue.Empty: check the workers are still alive
            if time.time() > deadline or not any(p.is_alive() for p in workers):
                if len(results) < len(workers) and out.empty():
                    raise RuntimeError("a load generator process died") from None
    for p in workers:
        p.join(timeout=10)
    lat = sorted(x for r in results for x in r["lat"])
    done = sum(r["done"] for r in results)
    errors = {}
    for r in results:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    return {"calls_per_s": done / duration, "calls": done, "errors": errors,
            "lost": sum(r["lost"] for r in results), "latencies_ms": [x * 1000 for x in lat]}


def run_loads(uri, loads, duration=5.0, warmup=1.0, tail=30):
    """Several loads at once, started at the same instant: ``loads`` is a list of
    ``run_load`` keyword dicts (service, method, kind, callers, actor, rate, ...).
    Returns their results in the same order."""
    import threading
    start_at = time.time() + 2.0  # every process of every load connects first
    results, errors = [None] * len(loads), []

    def one(i, spec):
        try:
            results[i] = run_load(uri, duration=duration, warmup=warmup, tail=tail,
                                  start_at=start_at, **spec)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=one, args=(i, spec), daemon=True)
               for i, spec in enumerate(loads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def call(uri, service, method, *args, actor=None, timeout=30, **kwargs):
    """One blocking RPC with the same wire protocol (setup, rebuild, stats)."""
    key = uuid.uuid4().hex
    headers = identity_headers(actor)
    result = {}
    with Connection(uri, heartbeat=0) as conn:
        channel = conn.channel()
        queue = Queue(f"rpc.reply-bench-{key}", RPC_EXCHANGE, routing_key=key, exclusive=True,
                      auto_delete=True)

        def on_reply(body, message):
            result["body"] = body

        with Consumer(channel, [queue], callbacks=[on_reply], no_ack=True, accept=["json"]):
            Producer(channel, exchange=RPC_EXCHANGE, serializer="json").publish(
                {"args": list(args), "kwargs": kwargs}, routing_key=f"{service}.{method}",
                reply_to=key, correlation_id=key, headers=headers, retry=False)
            deadline = time.time() + timeout
            while "body" not in result:
                if time.time() > deadline:
                    raise TimeoutError(f"{service}.{method} did not answer in {timeout}s")
                try:
                    conn.drain_events(timeout=0.5)
                except TimeoutError:
                    pass
    body = result["body"]
    if body.get("error"):
        raise RuntimeError(f"{service}.{method}: {body['error'].get('exc_type')}: "
                           f"{body['error'].get('value')}")
    return body["result"]
