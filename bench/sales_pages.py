"""W2: the sales workspace's board and lists over HTTP at N opportunities (default 100k).

The sales database of the bench stack gets N opportunities (stages spread over
qualify … lost, each with its stage-history row and a competitor), N leads and N/5
orders (two lines each), owners u1-u20, written straight into its tables; a
sales_gateway process is started and each page is fetched one request at a time with a
session cookie, as a browser does. p50/p95 against the issue's bound (p95 < 300 ms):
the board (staff: their ~N/20; manager: all N; manager filtered by owner; a deep page of
one column), the leads list (staff, manager with a source filter, search), the orders
list with a status filter, My day, an opportunity page.

    .venv/bin/python -m bench --quick --only W2 --out /tmp/bench-w2   # 5k opportunities
    .venv/bin/python -m bench --only W2 --out /tmp/bench-w2           # 100k
"""
import datetime as dt
import random

from sqlalchemy import create_engine, func, select

from bench.cpu import proc_cpu
from bench.pages import Solo, analyze, run_solo, start_gateway, time_pages

OWNERS = 20
STAGES = ("qualify", "propose", "negotiate", "won", "lost")
SOURCES = ("trade_show", "website", "referral", "campaign", "phone", "other")


def seed(db_url, n, seed_value=9):
    """N opportunities (+ history, competitor), N leads, N/5 orders with two lines."""
    from services.sales.models import (
        Competitor,
        Lead,
        Opportunity,
        Order,
        OrderLine,
        StageHistory,
    )
    rng = random.Random(seed_value)
    engine = create_engine(db_url)
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        first = conn.execute(select(func.coalesce(func.max(Opportunity.id), 0))).scalar() + 1
        lead0 = conn.execute(select(func.coalesce(func.max(Lead.id), 0))).scalar() + 1
        order0 = conn.execute(select(func.coalesce(func.max(Order.id), 0))).scalar() + 1
        for lo in range(0, n, 5000):
            opps, hist, comps, leads = [], [], [], []
            for k in range(lo, min(lo + 5000, n)):
                # stages drawn at random: owners (k % 20) and stages must not line up
                i, stage = first + k, STAGES[rng.randrange(5)]
                created = now - dt.timedelta(days=rng.randrange(1, 400))
                closed = created + dt.timedelta(days=3) if stage in ("won", "lost") else None
                opps.append({"id": i, "name": f"基准商机{i}", "customer_id": 1 + k % 5000,
                             "owner_id": f"u{k % OWNERS + 1}", "stage": stage,
                             "amount": rng.randrange(1000, 10 ** 7) / 100,
                             "expected_close_date": (now + dt.timedelta(
                                 days=rng.randrange(-60, 300))).date(),
                             "stage_entered_at": created, "closed_at": closed,
                             "created_at": created, "updated_at": created,
                             "lost_reason": "价格" if stage == "lost" else None})
                hist.append({"opportunity_id": i, "stage": stage, "entered_at": created,
                             "changed_by": "bench"})
                comps.append({"opportunity_id": i, "name": "对手", "price_position": "lower"})
                leads.append({"id": lead0 + k, "source": SOURCES[k % 6],
                              "status": "following_up", "customer_name": f"基准线索{k}公司",
                              "contact_name": "王芳", "contact_mobile": f"139{k:08d}"[-11:],
                              "region": "上海", "industry_code": "C35",
                              "owner_id": f"u{k % OWNERS + 1}", "assignment_rule": "manual",
                              "assigned_at": created, "created_at": created,
                              "updated_at": created})
            conn.execute(Opportunity.__table__.insert(), opps)
            conn.execute(StageHistory.__table__.insert(), hist)
            conn.execute(Competitor.__table__.insert(), comps)
            conn.execute(Lead.__table__.insert(), leads)
        for lo in range(0, n // 5, 5000):
            orders, lines = [], []
            for k in range(lo, min(lo + 5000, n // 5)):
                i = order0 + k
                orders.append({"id": i, "customer_id": 1 + k % 5000, "owner_id":
                               f"u{k % OWNERS + 1}", "amount": 300, "paid_total": 0,
                               "status": ("placed", "shipped", "completed")[k % 3],
                               "placed_at": now, "updated_at": now})
                lines += [{"order_id": i, "product": "A", "quantity": 1, "unit_price": 100,
                           "amount": 100},
                          {"order_id": i, "product": "B", "quantity": 2, "unit_price": 100,
                           "amount": 200}]
            conn.execute(Order.__table__.insert(), orders)
            conn.execute(OrderLine.__table__.insert(), lines)
    analyze(engine)
    return first, first + n - 1


def run(bench, n, samples):
    from services.common.auth import mint_token
    from services.common.config import load_config
    cfg = load_config()
    first, last = seed(bench.sqlite["sales"], n)
    port = start_gateway(bench, "sales_gateway", "services.sales.gateway:SalesGateway")
    staff = mint_token(cfg, "u1", "staff", "sales")
    manager = mint_token(cfg, "m1", "manager", "management")
    rng = random.Random(12)
    own = [first + k for k in range(0, n, OWNERS)]  # u1's opportunities
    deep = max(1, n // 5 // 10 // 2)
    cases = {
        "board_staff": (staff, lambda: "/app/pipeline"),
        "board_manager_all": (manager, lambda: "/app/pipeline"),
        "board_manager_owner_u7": (manager, lambda: "/app/pipeline?owner_id=u7"),
        f"board_manager_qualify_page_{deep}": (manager,
                                               lambda: f"/app/pipeline?p_qualify={deep}"),
        "leads_staff": (staff, lambda: "/app/leads"),
        "leads_manager_source": (manager, lambda: "/app/leads?source=referral"),
        "leads_manager_search": (manager,
                                 lambda: f"/app/leads?q=线索{rng.randrange(n)}公司"),
        "orders_manager_status": (manager, lambda: "/app/orders?status=shipped"),
        "my_day_staff": (staff, lambda: "/app/my-day"),
        "opportunity_staff": (staff, lambda: f"/app/opportunities/{rng.choice(own)}"),
    }
    pids = [bench.stack.pid("sales"), bench.stack.pid("sales_gateway")]

    def cpu():
        return sum(proc_cpu(p) or 0 for p in pids)
    # CPU of sales + sales_gateway per request: what the page costs whatever else the
    # machine is doing
    return time_pages(bench, "sales_gateway", port, cases, samples, "W2",
                      {"opportunities": n, "leads": n, "orders": n // 5,
                       "first_opportunity": first}, cpu=cpu)


def main():
    import argparse
    import tempfile
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--out", default="bench/results/sales_pages.json")
    args = ap.parse_args()
    # the sales service alone (``python -m bench.sales_pages``; ``make bench`` runs it as W2)
    solo = Solo(tempfile.mkdtemp(prefix="crm-bench-w2-logs-"), "w2", ("sales",),
                {"sales": "services.sales.service:SalesService"})
    # the sales process imports and connects
    run_solo(solo, 5, lambda b: run(b, args.n, args.samples), args.out)


if __name__ == "__main__":
    main()
