"""The alembic history matches the models: autogenerate finds nothing to add."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from services.common.migrate import upgrade
from services.service_desk.models import Base


def test_migration_head_matches_models(tmp_path):
    url = f"sqlite:///{tmp_path}/service_desk.db"
    upgrade("service_desk", url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []
