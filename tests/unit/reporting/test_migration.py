from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from services.common.migrate import upgrade
from services.reporting.models import Base


def test_migration_0001_matches_the_models(tmp_path):
    url = f"sqlite:///{tmp_path}/reporting.db"
    upgrade("reporting", url)
    with create_engine(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migration_0002_derives_department_rows_like_rebuild(tmp_path):
    """Read models written before department rows existed get them from 0002."""
    from alembic import command
    from sqlalchemy import delete

    from services.common.migrate import alembic_config
    from services.reporting.models import KpiMonth
    from tests.unit.reporting.harness import Harness
    from tests.unit.reporting.test_kpis import story

    url = f"sqlite:///{tmp_path}/reporting.db"
    upgrade("reporting", url)
    h = Harness(url)
    h.apply(*story())
    scopes = [{"department": d} for d in ("sales", "service", "marketing")]
    want = [h.kpis(p, s) for p in ("2026-11", "2026") for s in scopes]
    h.run(lambda s: s.execute(delete(KpiMonth).where(KpiMonth.owner.like("*_%"))))
    assert [h.kpis(p, s) for p in ("2026-11", "2026") for s in scopes] != want
    cfg = alembic_config("reporting", url)
    command.downgrade(cfg, "0001")
    command.upgrade(cfg, "head")
    assert [h.kpis(p, s) for p in ("2026-11", "2026") for s in scopes] == want
