"""Consistent per-service backups and restores (``crm backup`` / ``crm restore``).

SQLite: ``VACUUM INTO`` a fresh file (a transactionally consistent snapshot,
taken while the service runs; WAL readers never block it). PostgreSQL:
``pg_dump -Fc`` of an exported snapshot (the manifest's row counts are read in
that same snapshot), restored with ``pg_restore --single-transaction``.
Plus the RabbitMQ definitions generated from the contract (exchanges, queues,
bindings; no messages: the outboxes hold every unpublished event).

A backup directory holds ``<service>.db`` or ``<service>.dump``,
``definitions.json`` and ``manifest.json`` (files, sha256, row counts per
table). ``restore`` refuses to overwrite a database that has tables unless
``force`` is given, and checks the restored row counts against the manifest.
"""
import datetime as dt
import hashlib
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select, table

from services.common.config import db_url
from services.common.db import is_sqlite, with_driver

MANIFEST = "manifest.json"


def _sqlite_path(url):
    return Path(str(url).split("sqlite:///", 1)[1])


def _libpq(url):
    """A libpq URL (pg_dump) from a SQLAlchemy one."""
    url = str(url)
    for prefix in ("postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


def pg_versions(url):
    """(pg_dump major version, server major version) for ``url``."""
    import re
    out = subprocess.run(["pg_dump", "--version"], check=True, capture_output=True, text=True,
                         timeout=30).stdout
    tool = int(re.search(r"(\d+)(?:\.\d+)?", out).group(1))
    engine = create_engine(with_driver(url))
    try:
        with engine.connect() as conn:
            server = int(conn.exec_driver_sql("SHOW server_version_num").scalar()) // 10000
    finally:
        engine.dispose()
    return tool, server


def _counts(conn):
    names = sorted(inspect(conn).get_table_names())
    return {n: conn.execute(select(func.count()).select_from(table(n))).scalar() for n in names}


def row_counts(url):
    engine = create_engine(with_driver(url))
    try:
        with engine.connect() as conn:
            return _counts(conn)
    finally:
        engine.dispose()


def _pg_dump(url, target):
    """pg_dump -Fc of an exported snapshot, and the row counts of that same
    snapshot (so the manifest matches the dump while the service writes on)."""
    engine = create_engine(with_driver(url))
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
                try:
                    subprocess.run(["pg_dump", "-Fc", "--no-owner", f"--snapshot={snapshot}",
                                    "-f", str(target), _libpq(url)],
                                   check=True, capture_output=True, text=True, timeout=3600)
                except subprocess.CalledProcessError as exc:
                    raise RuntimeError(f"pg_dump failed: {exc.stderr.strip()}") from None
                return _counts(conn)
    finally:
        engine.dispose()


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _services(config, services):
    return list(services or (config.get("DB_URIS") or {}).keys())


def backup(config, out_dir, services=None):
    """Dump every service database (that exists) into ``out_dir``; returns the manifest."""
    from services.common.bus import definitions
    from services.contract import bus_settings
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"created_at": dt.datetime.now(dt.timezone.utc).isoformat(), "services": {}}
    for service in _services(config, services):
        url = db_url(config, service)
        if is_sqlite(url):
            src = _sqlite_path(url)
            if not src.exists():
                continue
            target = out / f"{service}.db"
            target.unlink(missing_ok=True)
            with sqlite3.connect(str(src), timeout=60) as conn:
                conn.execute("VACUUM INTO ?", (str(target),))
            conn.close()
            kind = "sqlite"
            counts = row_counts(f"sqlite:///{target}")
        else:
            tool, server = pg_versions(url)
            if tool < server:  # pg_dump refuses newer servers; say so plainly
                raise RuntimeError(f"{service}: pg_dump {tool} cannot dump a PostgreSQL {server}"
                                   " server; install the matching client tools")
            target = out / f"{service}.dump"
            counts = _pg_dump(url, target)
            kind = "postgres"
        manifest["services"][service] = {"kind": kind, "file": target.name,
                                         "sha256": _sha256(target), "rows": counts}
        if kind == "postgres":
            manifest["services"][service].update(pg_dump=tool, server=server)
    limit, queue_type = bus_settings(config)
    (out / "definitions.json").write_text(
        json.dumps(definitions(limit, queue_type=queue_type), indent=2) + "\n")
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


class RestoreError(RuntimeError):
    pass


def restore(config, in_dir, services=None, force=False):
    """Restore the dumps of ``in_dir`` into the configured databases; returns
    {service: row counts} after checking them against the manifest. Every
    selected dump and target is checked before any is touched, so a refusal
    (checksum, kind, a target holding data) leaves all databases as they were."""
    src = Path(in_dir)
    manifest = json.loads((src / MANIFEST).read_text())
    chosen = {s: e for s, e in manifest["services"].items() if not services or s in services}
    for service, entry in chosen.items():
        _check_restorable(config, src, service, entry, force)
    restored = {}
    for service, entry in chosen.items():
        dump, url = src / entry["file"], db_url(config, service)
        if entry["kind"] == "sqlite":
            target = _sqlite_path(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            tmp = target.with_name(target.name + ".restoring")
            shutil.copyfile(dump, tmp)
            tmp.replace(target)
        else:
            try:
                subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner",
                                "--single-transaction", "-d", _libpq(url), str(dump)],
                               check=True, capture_output=True, text=True, timeout=3600)
            except subprocess.CalledProcessError as exc:
                raise RestoreError(f"{service}: pg_restore failed: {exc.stderr.strip()}") \
                    from None
        counts = row_counts(url)
        if counts != entry["rows"]:
            raise RestoreError(f"{service}: restored row counts differ: {counts} != "
                               f"{entry['rows']}")
        restored[service] = counts
    return restored


def _check_restorable(config, src, service, entry, force):
    dump = src / entry["file"]
    if _sha256(dump) != entry["sha256"]:
        raise RestoreError(f"{dump} does not match its checksum in the manifest")
    url = db_url(config, service)
    if entry["kind"] == "sqlite" and not is_sqlite(url):
        raise RestoreError(f"{service}: a SQLite dump cannot go into {url.split(':')[0]}")
    if entry["kind"] != "sqlite" and is_sqlite(url):
        raise RestoreError(f"{service}: a pg_dump archive cannot go into SQLite")
    if not force:
        existing = {k: v for k, v in _existing_tables(url).items() if v}
        if existing:
            raise RestoreError(f"{service}: the target database holds data "
                               f"({', '.join(sorted(existing))}); use --force")


def _existing_tables(url):
    if is_sqlite(url) and not _sqlite_path(url).exists():
        return {}
    try:
        return {k: v for k, v in row_counts(url).items() if k != "alembic_version"}
    except Exception:  # noqa: BLE001 - no database yet
        return {}
