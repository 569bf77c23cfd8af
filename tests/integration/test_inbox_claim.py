"""The kit's inbox claim (``services.common.inbox.claim``) on both real databases:
first copies are claimed once, repeats (earlier or within the batch) are not,
handlers are independent, and a rolled-back claim is claimable again."""
import eventlet
import pytest
from sqlalchemy import func, select

from services.common.db import make_engine
from services.common.inbox import claim
from services.common.models import declare_base
from services.common.uow import make_envelope
from tests.support.infra import PgDatabases


@pytest.fixture(params=["sqlite", "postgresql"])
def inbox_db(request, tmp_path):
    dbs = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/inbox.db"
    else:
        dbs = PgDatabases(["inbox"])
        url = dbs.create()["inbox"]
    Base = declare_base()
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    yield engine, Base.Inbox
    engine.dispose()
    if dbs:
        dbs.drop()


def _env(n=0):
    return make_envelope("sales", "lead_created", {"lead_id": n})


def test_first_copies_are_claimed_once(inbox_db):
    engine, Inbox = inbox_db
    a, b, c = _env(1), _env(2), _env(3)
    with engine.begin() as conn:
        assert claim(conn, Inbox, "h1", [a]) == [0]
    with engine.begin() as conn:
        assert claim(conn, Inbox, "h1", [a]) == []  # a redelivery
        assert claim(conn, Inbox, "h1", [b, a, c, b]) == [0, 2]  # b and c, once each
        assert claim(conn, Inbox, "h2", [a]) == [0]  # another handler's inbox
        assert claim(conn, Inbox, "h1", []) == []
    with engine.connect() as conn:
        rows = conn.execute(select(Inbox.handler, func.count()).group_by(Inbox.handler)
                            .order_by(Inbox.handler)).all()
    assert [tuple(r) for r in rows] == [("h1", 3), ("h2", 1)]


def test_a_rolled_back_claim_is_claimable_again(inbox_db):
    engine, Inbox = inbox_db
    env = _env()
    conn = engine.connect()
    trans = conn.begin()
    assert claim(conn, Inbox, "h", [env]) == [0]
    trans.rollback()  # the handler's effect failed: so did its inbox row
    conn.close()
    with engine.begin() as conn:
        assert claim(conn, Inbox, "h", [env]) == [0]


@pytest.mark.parametrize("inbox_db", ["postgresql"], indirect=True)  # SQLite: one writer
def test_two_transactions_claiming_one_event_on_postgresql(inbox_db):
    """The second waits for the first; it gets nothing back, not a unique-key error."""
    engine, Inbox = inbox_db
    env = _env()
    first = engine.connect()
    t1 = first.begin()
    assert claim(first, Inbox, "h", [env]) == [0]
    box = {}

    def second():
        with engine.begin() as conn:
            box["got"] = claim(conn, Inbox, "h", [env])
    runner = eventlet.spawn(second)
    eventlet.sleep(0.3)
    assert "got" not in box  # blocked on the first transaction's row
    t1.commit()
    first.close()
    runner.wait()
    assert box["got"] == []
