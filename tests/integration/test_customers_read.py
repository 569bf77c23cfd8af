"""The read hot path: get_customer's raw single-statement reader returns exactly what
the ORM path returned (same dict, same dump), masking and access rules included."""
import pytest

from services.common.actors import Actor
from services.common.db import (
    ReadOnlyError,
)
from services.common.errors import NotFound
from services.customers import repository as repo
from services.customers.models import Base
from services.customers.schemas import CustomerOutSchema, dump_customer
from services.customers.service import CustomersService
from tests.support import data
from tests.support.fixtures import actor, offline_database

pytestmark = pytest.mark.integration
U1, M = actor("rd-u1"), actor("rd-m1", "manager", "management")


@pytest.fixture(scope="module", autouse=True)
def _service(module_services):
    module_services(CustomersService)


@pytest.fixture(scope="module")
def db(config):
    """The customers database of this run, in-process (its relay is never started)."""
    with offline_database(config, "customers", Base) as d:
        yield d


def _orm(db, cid, who):
    with db.unit_of_work() as uow:
        return repo.to_output(repo.get(uow.session, cid, who), who)


def test_fast_reader_equals_orm_path(rpc, db):
    with rpc(U1) as p:
        plain = p.customers.create_customer(data.customer(tags=[]))
        full = p.customers.create_customer(data.customer(
            tags=["Z", "展会获取", "a,b"], annual_budget="1234567.8", scale="large",
            needs="扩产", source_channel="web", influence=4, cooperation_since="2019-02-03",
            contacts=[{"name": "王芳", "title": "采购经理", "mobile": "13912345678",
                       "email": "w@example.cn", "birthday": "1980-05-06",
                       "preferred_channel": "wechat", "is_primary": True},
                      {"name": "李四", "title": "工程师", "mobile": "13812345678"}]))
        lost = p.customers.create_customer(data.customer())
        p.customers.mark_lost(lost["id"], "competitor", "被竞品低价抢走")
        p.customers.update_customer(full["id"], {"needs": "再扩产"})
    for c in (plain, full, lost):
        for who in (Actor(U1), Actor(M), Actor()):
            expected = _orm(db, c["id"], who)
            with db.read_unit_of_work() as ro:
                fast = repo.read_fast(ro, c["id"], who)
            with db.read_unit_of_work() as ro:
                core = repo.read(ro.connection, c["id"], who)
            assert fast == expected == core
            assert dump_customer(fast) == CustomerOutSchema().dump(expected)
    with rpc(M) as p:  # a manager sees the customer with masked contact data
        seen = p.customers.get_customer(full["id"])
    assert seen["contacts"][0]["mobile"] == "139****5678"
    assert [c["name"] for c in seen["contacts"]] == ["王芳", "李四"]
    assert seen["tags"] == ["Z", "a,b", "展会获取"]


def test_fast_reader_hides_what_staff_may_not_see(rpc, db):
    with rpc(U1) as p:
        c = p.customers.create_customer(data.customer())
    with db.read_unit_of_work() as ro:
        with pytest.raises(NotFound):
            repo.read_fast(ro, c["id"], Actor(actor("rd-u2")))
        with pytest.raises(NotFound):
            repo.read_fast(ro, 10 ** 12, Actor(M))
        with pytest.raises(NotFound):
            repo.read_fast(ro, "not-an-id", Actor(M))
    with rpc(actor("rd-u2")) as p, pytest.raises(NotFound):
        p.customers.get_customer(c["id"])


def test_read_unit_of_work_sees_committed_data_and_refuses_writes(rpc, db):
    with db.read_unit_of_work() as ro:
        before = ro.session.query(Base.Outbox).count()
    with rpc(U1) as p:
        c = p.customers.create_customer(data.customer())
    with db.read_unit_of_work() as ro:  # a new snapshot sees the commit
        assert repo.read_fast(ro, c["id"], Actor(U1))["id"] == c["id"]
        assert ro.session.query(Base.Outbox).count() > before
        ro.session.add(Base.Outbox(event_id="x" * 36, event_type="t", envelope={}))
        with pytest.raises(ReadOnlyError):
            ro.session.flush()
    with db.read_unit_of_work() as ro:
        assert ro.session.query(Base.Outbox).filter_by(event_id="x" * 36).count() == 0
