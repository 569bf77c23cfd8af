"""`crm backup` / `crm restore` on a running stack: restored into fresh databases,
row counts and KPIs identical, and reporting rebuilds the same KPIs from its
event log after the restore; a restore onto a database holding data is refused."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.common.backup import row_counts
from services.common.cli.rpc_client import cluster
from services.common.config import ROOT
from tests.reliability.figures import converge
from tests.reliability.stack import scaled
from tests.reliability.test_chaos import SERVICES, assert_kpis_match_sources, reporting_kpis
from tests.reliability.workload import Workload
from tests.support.infra import PgDatabases

pytestmark = pytest.mark.integration
CRM = str(Path(sys.executable).with_name("crm"))


def crm(stack, *args):
    env = dict(os.environ, AMQP_URI=stack.amqp_uri)
    for service, url in stack.db_urls.items():
        env[f"{service.upper()}_DATABASE_URL"] = url
    out = subprocess.run([CRM, *args], env=env, cwd=str(ROOT), capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.fixture
def pg_databases():
    """pg_databases() -> {service: URL} of fresh PostgreSQL databases (dropped after)."""
    made = []

    def make():
        dbs = PgDatabases(SERVICES)
        made.append(dbs)
        return dbs.create()

    yield make
    for dbs in made:
        dbs.drop()


def audit_settled(stack, timeout=30):
    """Wait until no service appends audit entries any more: the reads of full contact
    data the workload made are appended by a 1 s timer (``flush_audit_reads``), after
    the events have converged, so a count taken too early misses the last tick's. Then
    until every chain's head is anchored (reporting keeps a checkpoint of it): the
    ``publish_audit_checkpoint`` timer publishes a tail the last writes left unanchored
    up to ``AUDIT_CHECKPOINT_SECONDS`` (10 s) later, and nothing after that."""
    import time
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        now = {s: row_counts(stack.db_urls[s]).get("audit_log") for s in SERVICES}
        if now == last:
            break
        last = now
        time.sleep(2.5)  # > two flush ticks
    else:
        raise AssertionError(f"audit entries still being appended after {timeout} s: {last}")
    deadline = time.monotonic() + 30
    while (unanchored := _unanchored(stack)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not unanchored, f"heads not anchored (head seq, kept seq): {unanchored}"


def _unanchored(stack):
    """{service: (head seq, newest seq reporting keeps)} of the chains not anchored."""
    from sqlalchemy import create_engine, text

    from services.common.db import with_driver
    from services.contract import AUDIT_SOURCES

    def one(url, sql, **params):
        engine = create_engine(with_driver(url))
        try:
            with engine.connect() as conn:
                return conn.execute(text(sql), params).scalar() or 0
        finally:
            engine.dispose()
    out = {}
    for s in (x for x in SERVICES if x in AUDIT_SOURCES):
        head = one(stack.db_urls[s], "SELECT seq FROM audit_head WHERE id = 1")
        kept = one(stack.db_urls["reporting"], "SELECT max(seq) FROM rpt_audit_checkpoints "
                   "WHERE service = :s", s=s)
        if head != kept:
            out[s] = (head, kept)
    return out


def roundtrip(make_stack, chaos_dir, tag, source_dbs=None, fresh_dbs=None):
    """Load a running stack, back it up while it runs, restore into fresh databases
    and check row counts, KPIs, rebuild from the event log, and that it works on."""
    stack = make_stack(tag, db_urls=source_dbs).start(*SERVICES)
    load = Workload(stack.config(), tag, concurrency=6)
    load.run(scaled(2000, 100))
    converge(stack, timeout=120)
    audit_settled(stack)
    dump = chaos_dir / f"{tag}-dump"
    crm(stack, "backup", "--out", str(dump))  # taken while the stack runs
    kpis = reporting_kpis(stack)
    stack.stop_all()
    before = {s: row_counts(stack.db_urls[s]) for s in SERVICES}
    manifest = json.loads((dump / "manifest.json").read_text())
    assert {s: manifest["services"][s]["rows"] for s in SERVICES} == before
    defs = json.loads((dump / "definitions.json").read_text())
    assert defs["queues"] and defs["exchanges"]

    fresh = make_stack(f"{tag}-restored", db_urls=fresh_dbs)  # fresh, migrated, empty, new vhost
    out = crm(fresh, "restore", str(dump), "--force")
    assert "restore done" in out
    assert {s: row_counts(fresh.db_urls[s]) for s in SERVICES} == before
    fresh.start(*SERVICES)
    assert reporting_kpis(fresh) == kpis
    assert_kpis_match_sources(fresh)
    with cluster(fresh.config(), None, timeout=120) as system:
        system.reporting.rebuild()
    assert reporting_kpis(fresh) == kpis, "rebuild from the restored event log"
    # and the restored stack keeps working
    Workload(fresh.config(), f"{tag}2", concurrency=3).run(30)
    converge(fresh, timeout=60)
    assert_kpis_match_sources(fresh)
    # a restore onto a database that holds data is refused without --force (a one-service
    # backup of the restored stack, restored onto itself), and nothing is touched
    audit_settled(fresh)  # nor by a checkpoint of the last writes' tail meanwhile
    crm(fresh, "backup", "--out", str(chaos_dir / f"{tag}-one"), "customers")
    held = row_counts(fresh.db_urls["customers"])
    env = dict(os.environ, CUSTOMERS_DATABASE_URL=fresh.db_urls["customers"])
    out = subprocess.run([CRM, "restore", str(chaos_dir / f"{tag}-one")], env=env, cwd=str(ROOT),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "refused" in out.stdout, out.stdout + out.stderr
    assert row_counts(fresh.db_urls["customers"]) == held
    rows = sum(sum(c.values()) for c in before.values())
    print(f"\nbackup/restore {tag}: {len(SERVICES)} databases, {rows} rows, KPIs identical, "
          "rebuild identical")
    return manifest


def test_backup_restore_into_fresh_databases(make_stack, chaos_dir):
    manifest = roundtrip(make_stack, chaos_dir, "backup")
    assert {e["kind"] for e in manifest["services"].values()} == {"sqlite"}


def test_backup_restore_postgres(make_stack, chaos_dir, pg_databases):
    """The PostgreSQL path (pg_dump -Fc of one snapshot, pg_restore), against the
    local server, into fresh databases."""
    manifest = roundtrip(make_stack, chaos_dir, "backup-pg", pg_databases(), pg_databases())
    entries = [manifest["services"][s] for s in SERVICES]
    assert {e["kind"] for e in entries} == {"postgres"}
    assert all(e["file"].endswith(".dump") for e in entries)
    # the client tools match the server (pg_restore reads what pg_dump of this major wrote)
    versions = {(e["pg_dump"], e["server"]) for e in entries}
    assert all(tool == server for tool, server in versions), versions
    print(f"pg_dump/server major versions: {sorted(versions)}")

