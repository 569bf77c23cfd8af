"""The keyset lists' (filter, id) indexes are used (issue 20), on this run's backend.

Each case builds the list's real query (the services' own query builders), adds what
``services.common.paging.orm_page`` adds (ORDER BY id, LIMIT page_size + 1; the capped
count reads ids in id order, LIMIT 1,001) and reads the plan: SQLite ``EXPLAIN QUERY
PLAN``, PostgreSQL ``EXPLAIN`` with ``enable_seqscan`` and ``enable_bitmapscan`` off over
a few thousand rows (ANALYZEd, each filter value matching 20 of them). The plan must
name the expected index, and for an equality filter it must not sort (the rows come in
id order out of the index).

The databases are this module's own (migrated to head), so the rows never meet
another test's.
"""
import datetime as dt
import os
import tempfile
import types
import uuid

import pytest
import sqlalchemy as sa

from services.common.migrate import upgrade
from services.marketing import models as mk_models
from services.marketing import repository as mk_repo
from services.sales import models as sales_models
from services.sales import repository as sales_repo
from services.service_desk import models as sd_models
from services.service_desk import repository as sd_repo

pytestmark = pytest.mark.integration
BACKEND = os.environ.get("CRM_TEST_DB", "sqlite")
ROWS = 4000
SPREAD = 200  # each filter value matches ROWS / SPREAD = 20 rows
SERVICES = ("sales", "service_desk", "marketing")


@pytest.fixture(scope="module")
def engines():
    if BACKEND == "postgres":
        from tests.support.infra import PgDatabases
        dbs = PgDatabases(SERVICES)
        urls = dbs.create()
    else:
        folder = tempfile.mkdtemp(prefix="crm-idx-")
        urls = {s: f"sqlite:///{folder}/{s}.db" for s in SERVICES}
    from services.common.db import with_driver
    out = {}
    for s in SERVICES:
        upgrade(s, urls[s])
        out[s] = sa.create_engine(with_driver(urls[s]))
    _fill(out)
    yield out
    for e in out.values():
        e.dispose()
    if BACKEND == "postgres":
        dbs.drop()


def _value(col, i):
    """A value for a NOT NULL column the case does not care about."""
    kind = col.type
    py = None
    try:
        py = getattr(kind, "impl", kind).python_type
    except (NotImplementedError, AttributeError):
        pass
    if py is bool:
        return False
    if py is int:
        return i
    if py is dt.datetime or kind.__class__.__name__ == "UTCDateTime":
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=i)
    if py is dt.date:
        return dt.date(2026, 1, 1) + dt.timedelta(days=i % 365)
    if py is dict or py is list or kind.__class__.__name__ == "JSON":
        return {}
    if py is not None and py.__name__ == "Decimal":
        return 100
    length = getattr(kind, "length", None) or 16
    return f"v{i}"[:length]


def _rows(table, n, vary):
    rows = []
    for i in range(1, n + 1):
        row = {}
        for col in table.columns:
            if col.primary_key:
                continue
            if col.name in vary:
                row[col.name] = vary[col.name](i)
            elif not col.nullable and col.default is None and col.server_default is None:
                row[col.name] = _value(col, i)
        rows.append(row)
    return rows


def _fill(engines):
    """ROWS rows per table, each filter value matching 1 / SPREAD of them (the
    industry codes C000-C999: a three-character prefix
    matches 1 %)."""
    def owner(i):
        return f"owner{i % SPREAD}"

    def spread(prefix):
        return lambda i: f"{prefix}{i % SPREAD}"
    plan = {
        "sales": [
            (sales_models.Lead.__table__, {
                "owner_id": owner, "status": spread("s"), "source": spread("src"),
                "region": spread("r"), "industry_code": lambda i: f"C{i % 1000:03d}"}),
            (sales_models.Opportunity.__table__, {
                "owner_id": owner, "stage": spread("st"), "customer_id": lambda i: i,
                "expected_close_date": lambda i: dt.date(2026, 1, 1)
                + dt.timedelta(days=i % 300)}),
            (sales_models.Order.__table__, {"owner_id": owner, "status": spread("os"),
                                            "customer_id": lambda i: i})],
        "service_desk": [
            (sd_models.CarePlan.__table__, {"assignee_id": owner,
                                            "customer_id": lambda i: i % SPREAD}),
            (sd_models.Faq.__table__, {"status": spread("fs"), "category": spread("c")})],
        "marketing": [
            (mk_models.Campaign.__table__, {"owner_id": owner, "state": spread("ms"),
                                            "format": spread("f")}),
            (mk_models.Participant.__table__, {"campaign_id": lambda i: 1 + i % SPREAD})],
    }
    for service, tables in plan.items():
        engine = engines[service]
        with engine.begin() as conn:
            for table, vary in tables:
                conn.execute(table.insert(), _rows(table, ROWS, vary))
        with engine.begin() as conn:
            if BACKEND == "postgres":
                for table, _ in tables:
                    conn.exec_driver_sql(f"ANALYZE {table.name}")
            else:
                conn.exec_driver_sql("ANALYZE")


def plan_of(engine, stmt, bitmap=False):
    sql = str(stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if BACKEND == "postgres":
            # a handful of matches: PostgreSQL would rather bitmap-scan and sort them;
            # with both off the plan shows whether an index gives the id order
            conn.exec_driver_sql("SET enable_seqscan = off")
            if not bitmap:  # an unordered range may bitmap-scan its index
                conn.exec_driver_sql("SET enable_bitmapscan = off")
            lines = conn.exec_driver_sql("EXPLAIN " + sql).scalars().all()
        else:
            lines = [r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    return "\n".join(lines)


def page_stmt(stmt, id_col, descending=False):
    """What orm_page runs for a page, and for the capped count."""
    order = id_col.desc() if descending else id_col
    return (stmt.order_by(order).limit(21),
            stmt.with_only_columns(id_col).order_by(id_col).limit(1001))


def same_on_sqlite(table, index):
    """``index`` and, on SQLite, the indexes on its columns without the trailing id: a
    SQLite index ends with the rowid (= id), so ``(status)`` is ``(status, id)``."""
    names = {index}
    if BACKEND != "postgres":
        cols = [c.name for c in next(i for i in table.indexes if i.name == index).columns]
        names |= {i.name for i in table.indexes
                  if [c.name for c in i.columns] == cols[:-1] and cols[-1] == "id"}
    return names


def assert_uses(engine, stmt, id_col, index, ordered=True, descending=False):
    names = same_on_sqlite(id_col.table, index)
    for q in page_stmt(stmt, id_col, descending):
        plan = plan_of(engine, q, bitmap=not ordered)
        assert any(f" {n} " in plan + " " or f" {n}\n" in plan for n in names), plan
        if ordered:  # the index gives the id order: no sort step
            bad = "Sort" if BACKEND == "postgres" else "TEMP B-TREE"
            assert bad not in plan, plan


LEADS = [({"status": "s3"}, None, "ix_leads_status_id"),
         ({"source": "src4"}, None, "ix_leads_source_id"),
         ({"region": "r5"}, None, "ix_leads_region_id"),
         ({"owner_id": "owner6"}, None, "ix_leads_owner_id_id"),
         ({}, "owner7", "ix_leads_owner_id_id"),
         ({"status": "s7"}, "owner7", "ix_leads_owner_status_id")]


@pytest.mark.parametrize("filters,scope,index", LEADS,
                         ids=[f"{list(f) or ['scope']}-{i}" for f, _, i in LEADS])
def test_lead_lists_use_their_index(engines, filters, scope, index):
    stmt = sales_repo.leads_query(filters, scope)
    assert_uses(engines["sales"], stmt, sales_models.Lead.id, index)


def test_lead_industry_prefix_is_an_index_range(engines):
    stmt = sales_repo.leads_query({"industry_code": "c01"}, None)
    assert_uses(engines["sales"], stmt, sales_models.Lead.id, "ix_leads_industry_id",
                ordered=False)
    with engines["sales"].connect() as conn:  # the range finds what the prefix meant
        got = conn.execute(stmt.with_only_columns(sales_models.Lead.industry_code)).scalars()
        codes = set(got)
    assert codes == {f"C{i:03d}" for i in range(10, 20)}


OPPS = [({"stage": "st3"}, None, "ix_opportunities_stage_id"),
        ({"owner_id": "owner4"}, None, "ix_opportunities_owner_id_id"),
        ({"stage": "st5"}, "owner5", "ix_opportunities_owner_stage_id")]


@pytest.mark.parametrize("filters,scope,index", OPPS, ids=[i for _, _, i in OPPS])
def test_opportunity_lists_use_their_index(engines, filters, scope, index):
    stmt = sales_repo.opportunities_query(filters, scope)
    assert_uses(engines["sales"], stmt, sales_models.Opportunity.id, index)


def test_opportunities_by_expected_close_use_their_index(engines):
    o = sales_models.Opportunity
    stmt = sa.select(o).where(o.expected_close_date >= dt.date(2026, 3, 1),
                              o.expected_close_date < dt.date(2026, 3, 8))
    q = stmt.order_by(o.expected_close_date, o.id).limit(21)
    plan = plan_of(engines["sales"], q)
    assert "ix_opportunities_close_id" in plan, plan


ORDERS = [({"status": "os3"}, None, "ix_orders_status_id"),
          ({}, "owner4", "ix_orders_owner_id_id"),
          ({"status": "os5"}, "owner5", "ix_orders_owner_status_id")]


@pytest.mark.parametrize("filters,scope,index", ORDERS, ids=[i for _, _, i in ORDERS])
def test_order_lists_use_their_index(engines, filters, scope, index):
    stmt = sales_repo.orders_query(filters, scope)
    assert_uses(engines["sales"], stmt, sales_models.Order.id, index)


def test_care_plans_and_faq_use_their_index(engines):
    e = engines["service_desk"]
    assert_uses(e, sd_repo.plans_query("owner3", None), sd_models.CarePlan.id,
                "ix_care_plans_assignee_id_id")
    assert_uses(e, sd_repo.plans_query(None, 42), sd_models.CarePlan.id,
                "ix_care_plans_customer_id_id")
    assert_uses(e, sd_repo.faqs_query({"status": "fs3"}), sd_models.Faq.id,
                "ix_faqs_status_id")
    assert_uses(e, sd_repo.faqs_query({"category": "c4"}), sd_models.Faq.id,
                "ix_faqs_category_id")


def test_campaigns_and_participants_use_their_index(engines):
    e = engines["marketing"]
    staff = types.SimpleNamespace(id="owner3", is_manager=False, department="sales")
    manager = types.SimpleNamespace(id=f"m-{uuid.uuid4().hex[:4]}", is_manager=True,
                                    department="management")
    c = mk_models.Campaign
    assert_uses(e, mk_repo.campaigns_query({}, staff), c.id, "ix_campaigns_owner_id_id",
                descending=True)
    assert_uses(e, mk_repo.campaigns_query({"state": "ms4"}, manager), c.id,
                "ix_campaigns_state_id", descending=True)
    assert_uses(e, mk_repo.campaigns_query({"format": "f5"}, manager), c.id,
                "ix_campaigns_format_id", descending=True)
    p = mk_models.Participant
    assert_uses(e, sa.select(p).where(p.campaign_id == 7), p.id,
                "ix_campaign_participants_campaign_id_id")
