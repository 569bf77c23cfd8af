"""Fixtures of sales' unit tests: a migrated database (SQLite, or PostgreSQL with
CRM_TEST_DB=postgres) per test module and SalesService workers on it (worker_factory,
the actor and customers RPC mocked)."""
import os
from unittest import mock

import pytest
from nameko.testing.services import worker_factory

from services.common import audit
from services.common.actors import Actor
from services.common.db import GreenLock, make_engine, make_sessionmaker
from services.common.migrate import upgrade
from services.common.uow import Database
from services.sales.models import Base
from services.sales.service import SalesService


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    pg = None
    if os.environ.get("CRM_TEST_DB") == "postgres":
        from tests.support.infra import PgDatabases
        pg = PgDatabases(["sales"])
        # SQLAlchemy 2.1 maps postgresql:// to psycopg 3; the kit uses psycopg2
        url = pg.create()["sales"].replace("postgresql://", "postgresql+psycopg2://", 1)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('sales')}/sales.db"
    upgrade("sales", url)
    db = Database(Base)
    db.service_name = "sales"
    db.engine = make_engine(url)
    db.Session = make_sessionmaker(db.engine)
    db.lock = GreenLock(False)
    db.relay = mock.Mock()
    # the real provider's auditor (uow.Database.setup), so ORM writes and noted reads are audited
    db.audit = audit.Auditor(Base, audit.service_key({}, "sales"), "sales")
    yield db
    db.engine.dispose()
    if pg is not None:
        pg.drop()


class _Db:
    def __init__(self, db, actor):
        self.db, self.actor = db, actor

    def uow(self):
        return self.db.unit_of_work(self.actor.id, "sales.test")

    def read_uow(self):
        return self.db.read_unit_of_work()

    @property
    def audit(self):
        return self.db.audit


class _ActorDep:
    def __init__(self, actor):
        self.actor = actor

    def get(self):
        return self.actor


@pytest.fixture
def svc(database):
    """svc(actor_dict=None, customers=None) → a SalesService worker."""
    def make(who=None, customers=None, marketing=None):
        actor = Actor(who)
        if customers is None:
            customers = mock.Mock()
            customers.get_customer.side_effect = lambda cid: {
                "id": cid, "name": f"客户{cid}", "region": "上海", "industry_code": "C35"}
            customers.customer_names.side_effect = lambda ids: {i: f"客户{i}" for i in ids}
        if marketing is None:
            marketing = mock.Mock()
            marketing.get_participant.side_effect = lambda cid, pid: {
                "id": pid, "campaign_id": cid, "contact_name": "赵敏", "mobile": "13712345678",
                "email": "zhao@example.cn", "customer_id": None}
            marketing.campaign_names.side_effect = lambda ids: {i: f"活动{i}" for i in ids}
        return worker_factory(SalesService, db=_Db(database, actor), actor=_ActorDep(actor),
                              customers=customers, marketing_system=marketing,
                              customers_system=customers,
                              config={"RPC_TIMEOUT": 5, "CRM_TIMEZONE": "Asia/Shanghai"})
    return make
