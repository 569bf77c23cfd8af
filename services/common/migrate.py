"""Alembic, one history per service (``services/<service>/migrations``)."""


from alembic import command
from alembic.config import Config

from services.common.config import ROOT, db_url, load_config


def alembic_config(service, url=None):
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "services" / service / "migrations"))
    from services.common.db import with_driver
    cfg.set_main_option("sqlalchemy.url",
                        with_driver(url or db_url(load_config(), service)).replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def has_migrations(service):
    return (ROOT / "services" / service / "migrations" / "env.py").exists()


def upgrade(service, url=None, revision="head"):
    command.upgrade(alembic_config(service, url), revision)


def render_item(type_, obj, autogen_context):
    """Render the kit's UTCDateTime as a plain timezone-aware DateTime."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def run_env(context, target_metadata):
    """Body of every service's migrations/env.py."""
    from sqlalchemy import engine_from_config, pool

    cfg = context.config
    url = cfg.get_main_option("sqlalchemy.url")
    sqlite = url.startswith("sqlite")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                          render_as_batch=sqlite, render_item=render_item)
        with context.begin_transaction():
            context.run_migrations()
        return
    connectable = cfg.attributes.get("connection") or engine_from_config(
        cfg.get_section(cfg.config_ini_section, {}), prefix="sqlalchemy.",
        poolclass=pool.NullPool)
    if hasattr(connectable, "connect"):
        with connectable.connect() as connection:
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=sqlite, compare_type=True,
                              render_item=render_item)
            with context.begin_transaction():
                context.run_migrations()
    else:
        context.configure(connection=connectable, target_metadata=target_metadata,
                          render_as_batch=sqlite, compare_type=True,
                              render_item=render_item)
        with context.begin_transaction():
            context.run_migrations()



