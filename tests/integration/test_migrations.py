"""Every service's alembic head equals its models, on this run's backend
(SQLite or PostgreSQL): autogenerate would produce no diff."""
import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from services.common.db import with_driver
from services.common.migrate import has_migrations
from services.contract import SERVICES

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("service", [s for s in SERVICES if has_migrations(s)])
def test_no_autogenerate_diff(config, service):
    base = importlib.import_module(f"services.{service}.models").Base
    engine = create_engine(with_driver(config["DB_URIS"][service]))
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, base.metadata)
    engine.dispose()
    assert diff == []
