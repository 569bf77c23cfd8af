"""`crm audit verify` (services/common/cli/audit.py), run as the operator runs it (a
process of its own) against the customers service and reporting on the real broker,
after the customers' ``audit_log`` was tampered with directly in its database: a middle
row edited, the tail deleted, then the tail deleted with the head rolled back to an
older copy (only reporting's checkpoint tells): exit code 1 and the first bad position
named. The valid case (exit 0, every service) is
tests/integration/test_erasure.py::test_crm_audit_verify_cli; here it is the baseline.
The two services run on a vhost and databases of their own (tests.support.own_stack:
in CI the session's services answered the CLI otherwise; its chains stay intact)."""
import os
import subprocess
import sys
import time
from pathlib import Path

import eventlet
import pytest
from sqlalchemy import create_engine, delete, select, update

from services.common.cli.rpc_client import cluster
from services.common.config import ROOT
from services.common.db import with_driver
from services.customers.models import Base as CustomersBase
from services.customers.service import CustomersService
from services.reporting.service import ReportingService
from tests.support import data
from tests.support.fixtures import actor
from tests.support.own_stack import own_stack  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration
OWN = ("customers", "reporting")
CRM = str(Path(sys.executable).parent / "crm")
LOG, HEAD = CustomersBase.Audit.__table__, CustomersBase.AuditHead.__table__


def crm_audit_verify(config):
    """``crm audit verify --service customers`` in a process of its own → (code, output)."""
    env = dict(os.environ, AMQP_URI=config["AMQP_URI"], COLUMNS="200")
    done = subprocess.run([CRM, "audit", "verify", "--service", "customers"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=180)
    return done.returncode, done.stdout + done.stderr


def _head(engine):
    with engine.connect() as conn:
        return dict(conn.execute(select(HEAD).where(HEAD.c.id == 1)).mappings().first())


def test_crm_audit_verify_names_the_first_bad_position(own_stack, start_service):  # noqa: F811
    cfg = dict(own_stack(*OWN), AUDIT_CHECKPOINT_SECONDS=0)
    engine = create_engine(with_driver(cfg["DB_URIS"]["customers"]))
    config = cfg  # crm runs against this vhost

    def rpc(who=None):
        return cluster(cfg, who, 15)
    start_service(ReportingService, **cfg)
    start_service(CustomersService, **cfg)
    with rpc(actor("cv-u1")) as p:
        c = p.customers.create_customer(data.customer())
        p.customers.update_customer(c["id"], {"needs": "节能改造"})
        older = _head(engine)  # a copy of the head an intruder could keep
        p.customers.add_tags(c["id"], ["复购"])
        p.customers.update_customer(c["id"], {"needs": "余热回收"})
    last = _head(engine)["seq"]
    assert last > older["seq"] + 1 >= 3, (older, last)
    with rpc() as p:  # every write published its head (AUDIT_CHECKPOINT_SECONDS=0)
        deadline = time.monotonic() + 20
        while ((p.reporting.latest_audit_checkpoint("customers") or {}).get("seq") != last
               and time.monotonic() < deadline):
            eventlet.sleep(0.2)
        assert p.reporting.latest_audit_checkpoint("customers")["seq"] == last

    code, out = crm_audit_verify(config)
    assert code == 0 and "customers" in out and "valid" in out and "NOT VALID" not in out, out
    assert f"{last} entries (checkpoint seq {last})" in out, out

    # 1. a middle row edited: exit 1 at that seq
    middle = 2
    with engine.begin() as conn:
        kept = conn.execute(select(LOG.c.after).where(LOG.c.seq == middle)).scalar()
        conn.execute(update(LOG).where(LOG.c.seq == middle).values(after={"needs": "改过"}))
    code, out = crm_audit_verify(config)
    assert code == 1, out
    assert "NOT VALID" in out and f"first bad position: seq {middle} " in out, out
    assert "entry altered" in out, out
    with engine.begin() as conn:  # put back: the chain verifies again (shown by 2.)
        conn.execute(update(LOG).where(LOG.c.seq == middle).values(after=kept))

    # 2. the tail deleted: the head still says it was there
    with engine.begin() as conn:
        conn.execute(delete(LOG).where(LOG.c.seq == last))
    code, out = crm_audit_verify(config)
    assert code == 1, out
    assert f"first bad position: seq {last} " in out and "tail removed (head)" in out, out

    # 3. the whole tail after the kept copy deleted and the head rolled back to it: the
    # database is consistent again, reporting's checkpoint is not
    with engine.begin() as conn:
        conn.execute(delete(LOG).where(LOG.c.seq > older["seq"]))
        conn.execute(update(HEAD).where(HEAD.c.id == 1).values(
            seq=older["seq"], hash=older["hash"], mac=older["mac"], at=older["at"]))
    with rpc() as p:  # without the checkpoint the chain alone looks whole
        assert p.customers.verify_audit()["valid"]
    code, out = crm_audit_verify(config)
    assert code == 1, out
    assert f"first bad position: seq {older['seq'] + 1} " in out, out
    assert "tail removed (checkpoint)" in out, out
    engine.dispose()
