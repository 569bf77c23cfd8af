"""PII scan of every artifact the suite produced (runs after the chaos scenarios
and the backup tests, and makes traffic of its own so it also judges something
when run alone): every database file, log, outbox, event log, dead letter,
metrics scrape and backup. Resident ID / bank card numbers: 0 hits; the
mobiles the workloads seeded: 0 hits outside the sources' contact records."""
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from services.common.auth import mint_token
from services.common.cli.rpc_client import cluster
from services.common.config import ROOT
from services.common.errors import ValidationError
from tests.reliability.figures import converge
from tests.reliability.pii import ATTEMPTED, SEEDED_MOBILES, dump_stack_artifacts, scan_tree
from tests.reliability.stack import wait_for
from tests.reliability.test_chaos import SERVICES, publish_raw
from tests.reliability.workload import Workload, staff
from tests.support import standards as ref

pytestmark = pytest.mark.integration
CRM = str(Path(sys.executable).with_name("crm"))


# What the test tries to store, in the forms people type; from tests/support/standards.py
# (GB 11643 / ISO 7812 written out), never from the scanner or library under test.
BAD = [ref.RIC_SAMPLE, ref.resident_id_x().lower(), ref.resident_id_15(),
       ref.grouped(ref.resident_id(), "\u3000"), ref.fullwidth(ref.resident_id()),
       ref.bank_card(length=16), ref.grouped(ref.fullwidth(ref.bank_card(length=19)), "\u00a0")]


def test_no_pii_in_any_artifact(make_stack, chaos_dir):
    stack = make_stack("pii").start(*SERVICES, "customers_gateway", "sales_gateway",
                                    "service_desk_gateway")
    load = Workload(stack.config(), "pii", concurrency=4)
    load.run(120)
    # attempts to store an ID-card or a bank card number, through RPC and HTTP: refused
    refused = 0
    with cluster(stack.config(), staff("pii-u0"), timeout=20) as p:
        for bad in (f"证件号 {value}" for value in BAD):
            attempts = [
                (p.customers.create_customer, dict(load.customer_data(), needs=bad)),
                (p.sales.create_lead, {"source": "website", "customer_name": "线索PII",
                                       "contact_name": "李", "need": bad}),
            ]
            for fn, data in attempts:
                with pytest.raises(ValidationError) as err:
                    fn(data)
                assert "SENSITIVE_DATA" in repr(err.value)
                refused += 1
    token = mint_token(stack.config(), "pii-u0", "staff", "sales")
    h = {"Authorization": f"Bearer {token}"}
    for bad in BAD:
        r = requests.post(stack.url("customers_gateway") + "/customers", headers=h, timeout=20,
                          json=dict(load.customer_data(), name=f"公司{bad}"))
        assert r.status_code == 422 and "SENSITIVE_DATA" in r.text, r.text
        refused += 1
    # a dead letter, so the DLQ dump has something in it
    publish_raw(stack.amqp_uri, [{"event_id": str(uuid.uuid4()), "type": "customer_created",
                                  "source": "customers", "data": {}}])
    converge(stack, timeout=60)
    from tests.reliability.figures import dlq_depth
    wait_for(lambda: dlq_depth(stack.amqp_uri) >= 1, 30, what="malformed event dead-lettered")
    # a backup of the running stack
    env = dict(os.environ, AMQP_URI=stack.amqp_uri)
    for service, url in stack.db_urls.items():
        env[f"{service.upper()}_DATABASE_URL"] = url
    out = subprocess.run([CRM, "backup", "--out", str(chaos_dir / "pii-dump")], env=env,
                         cwd=str(ROOT), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    dump_stack_artifacts(stack)
    stack.stop_all()  # logs flushed

    ATTEMPTED.update(ref.digits_of(b) for b in BAD)
    report = scan_tree(chaos_dir)
    print("\n" + report.line() + f" refused_attempts={refused}")
    assert refused == 3 * len(BAD)
    assert report.files["db"] and report.files["log"] and report.files["dlq"]
    assert report.files["metrics"] and SEEDED_MOBILES
    assert report.sensitive == [], report.sensitive[:5]
    assert report.mobiles == [], report.mobiles[:5]
