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
