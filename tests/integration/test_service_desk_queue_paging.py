"""The service queue's ``sort=due`` list (issue 20 follow-up): page N asked by number
is the N-th page walked by cursor (running clocks by due time, then the resolved ones
newest first, pages straddling the two groups and pages past the running group), and
a customer-name search goes through the service desk's customer copy. Rows written
straight into the service_desk database (SQLite, or PostgreSQL with CRM_TEST_DB=postgres)."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from services.common.db import make_engine
from services.service_desk import repository
from services.service_desk.models import CustomerCopy, Ticket

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def engine(config):
    eng = make_engine(config["DB_URIS"]["service_desk"], pool_size=2)
    yield eng
    eng.dispose()


def _ticket(tid, agent, customer_id, subject, running, minutes):
    opened = NOW - dt.timedelta(minutes=minutes)
    return {"id": tid, "kind": "inquiry", "severity": "medium",
            "status": "open" if running else "resolved", "customer_id": customer_id,
            "complainant_name": "王女士", "channel": "phone", "subject": subject,
            "description": "设备报警", "assignee_id": agent, "opened_by": agent,
            "opened_at": opened, "first_response_due_at": opened + dt.timedelta(hours=8),
            "resolution_due_at": opened + dt.timedelta(hours=72),
            "resolved_at": None if running else opened + dt.timedelta(hours=1),
            "next_due_at": opened + dt.timedelta(hours=8) if running else None,
            "reopen_count": 0, "updated_at": opened, "version": 1}


@pytest.fixture(scope="module")
def seeded(engine):
    """7 running tickets (two share a due time) and 8 resolved ones for one agent;
    ids far above what other tests create."""
    agent = f"qp-{uuid.uuid4().hex[:8]}"
    base = 900_000_000 + uuid.uuid4().int % 1_000_000 * 100
    minutes = [50, 10, 30, 30, 70, 20, 60]  # due order: 70, 60, 50, 30, 30 (id order), 20, 10
    rows = [_ticket(base + i, agent, None, f"分页{i}", True, m) for i, m in enumerate(minutes)]
    rows += [_ticket(base + 10 + i, agent, None, f"完成{i}", False, 5 * i) for i in range(8)]
    with engine.begin() as conn:
        conn.execute(Ticket.__table__.insert(), rows)
    # the order written out from the rule (due time, then id; then resolved newest first)
    running = sorted(rows[:7], key=lambda r: (r["next_due_at"], r["id"]))
    done = sorted(rows[7:], key=lambda r: -r["id"])
    yield agent, [r["id"] for r in running + done]
    with engine.begin() as conn:
        conn.execute(delete(Ticket).where(Ticket.assignee_id == agent))


def _list(engine, filters, page=1, page_size=3, cursor=None):
    with Session(engine) as s:
        rows, nxt, total, est = repository.list_tickets(s, filters, None, page, page_size,
                                                        cursor=cursor)
        return [t.id for t in rows], nxt, total, est


@pytest.mark.parametrize("page_size", [1, 2, 3, 4, 7, 8, 15, 20])
def test_page_by_number_is_the_page_walked_by_cursor(engine, seeded, page_size):
    agent, expected = seeded
    filters = {"sort": "due", "assignee_id": agent}
    walked, cursor = [], None
    for _ in range(40):
        ids, cursor, total, est = _list(engine, filters, page_size=page_size, cursor=cursor)
        walked.append(ids)
        assert (total, est) == (15, False)
        if cursor is None:
            break
    assert sum(walked, []) == expected
    for n, page_ids in enumerate(walked, start=1):
        ids, nxt, _total, _est = _list(engine, filters, page=n, page_size=page_size)
        assert ids == page_ids, n
        assert (nxt is None) == (n == len(walked))
    # past the end (and past the running group by far): empty, no cursor
    assert _list(engine, filters, page=len(walked) + 3, page_size=page_size)[:2] == ([], None)


def test_customer_name_search_lists_that_customers_tickets(engine, monkeypatch):
    tag = uuid.uuid4().hex[:8]
    agent = f"qs-{tag}"
    cid = 800_000_000 + uuid.uuid4().int % 1_000_000 * 10
    base = 700_000_000 + uuid.uuid4().int % 1_000_000 * 100
    names = {cid: f"杭州{tag}甲机械有限公司", cid + 1: f"宁波{tag}乙贸易有限公司",
             cid + 2: f"温州{tag}甲配件厂"}
    rows = [_ticket(base + i, agent, cid + i % 3, f"主题{i}", i % 2 == 0, i) for i in range(9)]
    rows.append(_ticket(base + 9, agent, None, f"{tag}甲 的投诉", True, 3))
    with engine.begin() as conn:
        conn.execute(CustomerCopy.__table__.insert(), [
            {"customer_id": k, "name": v, "tier": "normal", "type": "closed",
             "birthdays": [], "updated_at": NOW} for k, v in names.items()])
        conn.execute(Ticket.__table__.insert(), rows)
    try:
        def found(q, **extra):
            ids, _n, total, est = _list(engine, {"sort": "due", "assignee_id": agent, "q": q},
                                        page_size=50)
            assert (total, est) == (len(ids), False)
            return sorted(ids)

        def of(*customers):
            return sorted(r["id"] for r in rows if r["customer_id"] in customers)

        assert found(f"{tag}乙贸易") == of(cid + 1)
        assert found(f"{tag}甲") == of(cid, cid + 2)  # both customers' tickets
        assert found(f"{tag.upper()}乙") == of(cid + 1)  # ASCII case ignored
        assert found("主题4") == [base + 4]  # no customer holds it: subject
        assert found(f"{tag}丙") == []
        monkeypatch.setattr(repository, "CUSTOMER_MATCHES", 1)  # more customers than listed
        assert found(f"{tag}") == of(cid, cid + 1, cid + 2)
    finally:
        with engine.begin() as conn:
            conn.execute(delete(Ticket).where(Ticket.assignee_id == agent))
            conn.execute(delete(CustomerCopy).where(CustomerCopy.customer_id.in_(list(names))))
