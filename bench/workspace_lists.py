"""W3 / W4: the service desk's queue at N tickets (default 100k) and the marketing
campaign list at M campaigns (default 10k), over HTTP as a browser asks for them.

The service_desk database gets N tickets (kinds, severities and statuses spread,
20 agents s1-s20, each with its opened/assignment timeline rows and its running
clock's ``next_due_at``) and 5000 customer copies; the marketing database gets M
campaigns with two milestones each, owners mk1-mk20. Both written straight into
their tables; then each page is fetched one request at a time with a session
cookie, p50/p95 against the issue's bound (p95 < 300 ms).

    .venv/bin/python -m bench.workspace_lists --n 100000 --m 10000   # alone
    (``make bench`` runs them as W3 and W4)
"""
import datetime as dt
import html
import random
import re

from sqlalchemy import create_engine, func, select

from bench.pages import Solo, analyze, run_solo, start_gateway, time_pages, timed_get

AGENTS = 20
KINDS = ("inquiry", "complaint", "suggestion")
SEVERITIES = (("critical", 1, 4), ("high", 4, 24), ("medium", 8, 72), ("low", 24, 120))
STATUSES = ("open", "in_progress", "resolved", "closed")


def seed_tickets(db_url, n, seed_value=5):
    from services.service_desk.models import CustomerCopy, Ticket, TicketEntry
    rng = random.Random(seed_value)
    engine = create_engine(db_url)
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        if not conn.execute(select(func.count()).select_from(CustomerCopy)).scalar():
            conn.execute(CustomerCopy.__table__.insert(), [
                {"customer_id": i, "name": f"杭州基准{i}机械有限公司", "tier": "normal",
                 "type": "closed", "birthdays": [], "updated_at": now}
                for i in range(1, 5001)])
        first = conn.execute(select(func.coalesce(func.max(Ticket.id), 0))).scalar() + 1
        for lo in range(0, n, 5000):
            tickets, entries = [], []
            for k in range(lo, min(lo + 5000, n)):
                i = first + k
                severity, fr_h, rs_h = SEVERITIES[k % 4]
                status = STATUSES[(k // 4) % 4]
                opened = now - dt.timedelta(minutes=rng.randrange(10, 60 * 24 * 30))
                fr_due = opened + dt.timedelta(hours=fr_h)
                rs_due = opened + dt.timedelta(hours=rs_h)
                responded = opened + dt.timedelta(minutes=30) if status != "open" else None
                done = status in ("resolved", "closed")
                agent = f"s{k % AGENTS + 1}"
                tickets.append({
                    "id": i, "kind": KINDS[k % 3], "severity": severity, "status": status,
                    "customer_id": 1 + k % 5000, "complainant_name": "王女士",
                    "channel": "phone", "subject": f"基准工单{i}", "description": "设备报警",
                    "assignee_id": agent, "opened_by": agent, "opened_at": opened,
                    "first_response_due_at": fr_due, "resolution_due_at": rs_due,
                    "first_responded_at": responded,
                    "resolved_at": opened + dt.timedelta(hours=2) if done else None,
                    "root_cause": "delivery" if done else None,
                    "next_due_at": None if done else (fr_due if responded is None else rs_due),
                    "reopen_count": 0, "updated_at": opened, "version": 1})
                entries += [{"ticket_id": i, "kind": "opened", "author_id": agent, "at": opened,
                             "notify_customer": False},
                            {"ticket_id": i, "kind": "assignment", "author_id": agent,
                             "at": opened, "notify_customer": False, "to_assignee": agent}]
            conn.execute(Ticket.__table__.insert(), tickets)
            conn.execute(TicketEntry.__table__.insert(), entries)
    analyze(engine)
    return first


def seed_campaigns(db_url, m, seed_value=6):
    from services.marketing.models import Campaign, Milestone
    rng = random.Random(seed_value)
    engine = create_engine(db_url)
    now = dt.datetime.now(dt.timezone.utc)
    states = ("draft", "scheduled", "running", "completed", "cancelled")
    formats = ("online", "offline", "exhibition", "salon", "promotion")
    with engine.begin() as conn:
        first = conn.execute(select(func.coalesce(func.max(Campaign.id), 0))).scalar() + 1
        for lo in range(0, m, 5000):
            rows, stones = [], []
            for k in range(lo, min(lo + 5000, m)):
                i = first + k
                starts = now + dt.timedelta(days=rng.randrange(-300, 300))
                rows.append({"id": i, "theme": f"基准活动{i}", "goal": "获客",
                             "audience_filter": {}, "starts_at": starts,
                             "ends_at": starts + dt.timedelta(hours=3), "location": "上海",
                             "format": formats[k % 5], "owner_id": f"mk{k % AGENTS + 1}",
                             "budget": 10000, "cost": 0, "state": states[k % 5],
                             "created_by": "bench", "created_at": now, "updated_at": now,
                             "version": 1})
                for d in (14, 3):
                    stones.append({"campaign_id": i, "title": "节点", "owner_id": "mk1",
                                   "due_date": (starts - dt.timedelta(days=d)).date()})
            conn.execute(Campaign.__table__.insert(), rows)
            conn.execute(Milestone.__table__.insert(), stones)
    analyze(engine)
    return first


def run_desk(bench, n, samples):
    from services.common.auth import mint_token
    from services.common.config import load_config
    cfg = load_config()
    first = seed_tickets(bench.sqlite["service_desk"], n)
    port = start_gateway(bench, "service_desk_gateway",
                         "services.service_desk.gateway:ServiceDeskGateway")
    staff = mint_token(cfg, "s1", "staff", "service")
    manager = mint_token(cfg, "m1", "manager", "management")
    rng = random.Random(13)
    deep = 40  # page numbers: 1000 tickets deep; further on the page follows cursors
    next_url = "/app/tickets?view=all"
    for _ in range(deep):  # follow the queue's "next" link (cursor) 40 pages deep
        _status, _ms, body = timed_get(port, next_url, manager)
        found = re.search(r'<a rel="next" href="([^"]+)"', body)
        if not found:
            break
        next_url = html.unescape(found.group(1))
    cases = {
        "queue_staff": (staff, lambda: "/app/tickets"),
        "queue_manager_all": (manager, lambda: "/app/tickets?view=all"),
        "queue_manager_all_critical_open": (manager, lambda: "/app/tickets?view=all"
                                            "&severity=critical&status=open"),
        "queue_manager_all_complaints": (manager, lambda: "/app/tickets?view=all&kind=complaint"),
        f"queue_manager_all_page_{deep}": (manager, lambda: f"/app/tickets?view=all&page={deep}"),
        f"queue_manager_all_cursor_page_{deep + 1}": (manager, lambda: next_url),
        "queue_manager_search_subject": (manager, lambda: "/app/tickets?view=all&q=基准工单"
                                         f"{first + rng.randrange(n)}"),
        "queue_manager_search_customer": (manager, lambda: "/app/tickets?view=all&q=基准"
                                          f"{rng.randrange(1, 5000)}机械"),
        "ticket_page_staff": (staff, lambda: "/app/tickets/"
                              f"{first + AGENTS * rng.randrange(n // AGENTS)}"),
    }
    return time_pages(bench, "service_desk_gateway", port, cases, samples, "W3", {"tickets": n})


def run_campaigns(bench, m, samples):
    from services.common.auth import mint_token
    from services.common.config import load_config
    cfg = load_config()
    first = seed_campaigns(bench.sqlite["marketing"], m)
    port = start_gateway(bench, "marketing_gateway", "services.marketing.gateway:MarketingGateway")
    staff = mint_token(cfg, "mk1", "staff", "marketing")
    manager = mint_token(cfg, "m1", "manager", "management")
    rng = random.Random(14)
    cases = {
        "campaigns_staff": (staff, lambda: "/app/campaigns"),
        "campaigns_running": (staff, lambda: "/app/campaigns?state=running"),
        "campaigns_manager_salon": (manager, lambda: "/app/campaigns?format=salon"),
        "campaigns_search": (staff, lambda: f"/app/campaigns?q=基准活动{first + rng.randrange(m)}"),
        f"campaigns_page_{max(1, m // 25 // 2)}": (
            staff, lambda: f"/app/campaigns?page={max(1, m // 25 // 2)}"),
    }
    return time_pages(bench, "marketing_gateway", port, cases, samples, "W4", {"campaigns": m})


def main():
    import argparse
    import tempfile
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--m", type=int, default=10000)
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--out", default="bench/results/workspace_lists.json")
    args = ap.parse_args()
    solo = Solo(tempfile.mkdtemp(prefix="crm-bench-w3-logs-"), "w3",
                ("service_desk", "marketing", "customers"),
                {"service_desk": "services.service_desk.service:ServiceDeskService",
                 "marketing": "services.marketing.service:MarketingService"})
    # the services import and connect
    run_solo(solo, 6, lambda b: {"W3": run_desk(b, args.n, args.samples),
                                 "W4": run_campaigns(b, args.m, args.samples)}, args.out)


if __name__ == "__main__":
    main()
