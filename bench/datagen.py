"""Bulk data for R5 (an event log for reporting.rebuild) and R6 (an import CSV)."""
import csv
import datetime as dt
import random
import uuid

from services.common.cli.demo import make_uscc

FILLED = ["name", "uscc", "industry_code", "region", "type", "contacts"]


def _env(source, etype, at, data, actor):
    return {"event_id": str(uuid.UUID(int=random.getrandbits(128), version=4)),
            "type": etype, "version": 1, "occurred_at": at.isoformat(), "source": source,
            "actor_id": actor, "data": data}


EVENTS_PER_CUSTOMER = 10


def customer_events(i, owners, rng, start, days):
    """10 events of one customer's life: created, lead created/converted, opportunity
    created / moved to propose / won, customer updated (profile completed, now
    closed), order placed/shipped, payment received."""
    owner = f"u{i % owners + 1}"
    at = start + dt.timedelta(days=rng.randrange(days), seconds=rng.randrange(86400))
    cid, lid, pid, oid = i, 10**9 + i, 2 * 10**9 + i, 3 * 10**9 + i
    amount = f"{rng.randrange(1000, 500000)}.00"
    step = dt.timedelta(days=1)
    base = {"owner_id": owner}
    return [
        _env("customers", "customer_created", at, {
            "customer_id": cid, "name": f"基准客户{i}", "owner_id": owner, "type": "potential",
            "tier": "normal", "industry_code": "C35", "region": "上海",
            "filled_fields": FILLED, "tags": []}, owner),
        _env("sales", "lead_created", at + step, dict(base, lead_id=lid, source="website",
                                                      customer_id=cid, region="上海",
                                                      industry_code="C35"), owner),
        _env("sales", "lead_converted", at + 2 * step, dict(base, lead_id=lid, source="website",
                                                            customer_id=cid,
                                                            opportunity_id=pid), owner),
        _env("sales", "opportunity_created", at + 2 * step, dict(
            base, opportunity_id=pid, customer_id=cid, amount=amount, stage="qualify",
            probability=0.2, lead_id=lid), owner),
        _env("sales", "opportunity_stage_changed", at + 3 * step, dict(
            base, opportunity_id=pid, customer_id=cid, amount=amount, stage="propose",
            from_stage="qualify", probability=0.6, lead_id=lid,
            expected_close_date=(at + 30 * step).date().isoformat()), owner),
        _env("sales", "opportunity_won", at + 5 * step, dict(
            base, opportunity_id=pid, customer_id=cid, amount=amount, stage="won",
            probability=1.0, lead_id=lid), owner),
        _env("customers", "customer_updated", at + 5 * step, {
            "customer_id": cid, "name": f"基准客户{i}", "owner_id": owner, "type": "closed",
            "tier": "normal", "industry_code": "C35", "region": "上海",
            "filled_fields": FILLED + ["scale", "annual_budget", "needs"], "tags": [],
            "changed_fields": ["type", "scale", "annual_budget", "needs"]}, owner),
        _env("sales", "order_placed", at + 5 * step, dict(
            base, order_id=oid, customer_id=cid, amount=amount, opportunity_id=pid), owner),
        _env("sales", "order_shipped", at + 8 * step, dict(
            base, order_id=oid, customer_id=cid, amount=amount,
            shipped_at=(at + 8 * step).isoformat()), owner),
        _env("sales", "payment_received", at + 9 * step, dict(
            base, order_id=oid, customer_id=cid, payment_id=4 * 10**9 + i, amount=amount,
            paid_total=amount, outstanding="0.00"), owner),
    ]


def load_event_log(url, customers, owners=300, years=10, seed=7, chunk=20000):
    """Insert ``customers`` × EVENTS_PER_CUSTOMER events straight into reporting's
    event_log (multi-row Core inserts of ``chunk`` rows, one transaction each)."""
    from sqlalchemy import insert

    from services.common.db import make_engine
    from services.reporting import domain
    from services.reporting.models import EventLog

    rng = random.Random(seed)
    random.seed(seed)
    start = dt.datetime(2026 - years, 1, 1, tzinfo=dt.UTC)
    days = 365 * years - 20
    engine = make_engine(url)
    now = dt.datetime.now(dt.UTC)
    total, batch = 0, []

    def flush():
        with engine.begin() as conn:
            conn.execute(insert(EventLog), batch)
        batch.clear()

    for i in range(1, customers + 1):
        for env in customer_events(i, owners, rng, start, days):
            kind, entity_id = domain.entity_of(env)
            batch.append({"event_id": env["event_id"], "source": env["source"],
                          "type": env["type"], "occurred_at": dt.datetime.fromisoformat(
                              env["occurred_at"]), "actor_id": env["actor_id"],
                          "envelope": env, "entity_kind": kind, "entity_id": entity_id,
                          "applied_at": now, "lag_seconds": 0.0})
            total += 1
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()
    engine.dispose()
    return total


def import_csv(path, rows, bad_share=0.01, seed=11):
    """A ``crm import customers`` CSV: ``rows`` rows, ``bad_share`` of them invalid."""
    rng = random.Random(seed)
    bad_every = int(1 / bad_share) if bad_share else 0
    fields = ["name", "uscc", "industry_code", "region", "scale", "annual_budget", "needs",
              "source_channel", "type", "owner_id", "tags", "contact_name", "contact_title",
              "contact_mobile", "contact_email"]
    seen = set()
    bad = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(fields)
        for n in range(1, rows + 1):
            uscc = make_uscc(rng, rng.choice(("310000", "110000", "440300", "330100")))
            while uscc in seen:
                uscc = make_uscc(rng, "320100")
            seen.add(uscc)
            if bad_every and n % bad_every == 0:
                uscc = "BAD" + uscc[3:]  # fails the USCC check: reported per row
                bad += 1
            w.writerow([f"导入测试贸易有限公司{n}", uscc, "F51", "上海", "small", "50000.00",
                        "", "trade_show", "potential", "u1", "展会获取;老客户", "张伟", "经理",
                        f"138{rng.randint(0, 99999999):08d}", f"c{n}@example.cn"])
    return bad
