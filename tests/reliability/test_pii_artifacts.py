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
from stdnum import luhn
from stdnum.cn import ric

from services.common.auth import mint_token
from services.common.cli.rpc_client import cluster
from services.common.config import ROOT
from services.common.errors import ValidationError
from tests.reliability.figures import converge
from tests.reliability.pii import SEEDED_MOBILES, dump_stack_artifacts, scan_tree
from tests.reliability.stack import wait_for
from tests.reliability.test_chaos import SERVICES, publish_raw
from tests.reliability.workload import Workload, staff

pytestmark = pytest.mark.integration
CRM = str(Path(sys.executable).with_name("crm"))


def _ric():
    body = "330106" + "19880417" + "051"
    return body + ric.calc_check_digit(body)


def _card():
    body = "621700" + "000012345678"
    return body + luhn.calc_check_digit(body)


def test_no_pii_in_any_artifact(make_stack, chaos_dir):
    stack = make_stack("pii").start(*SERVICES, "customers_gateway", "sales_gateway",
                                    "service_desk_gateway")
    load = Workload(stack.config(), "pii", concurrency=4)
    load.run(120)
    # attempts to store an ID-card or a bank card number, through RPC and HTTP: refused
    refused = 0
    with cluster(stack.config(), staff("pii-u0"), timeout=20) as p:
        for bad in (f"证件号 {_ric()}", f"卡号 {_card()}"):
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
    for bad in (_ric(), _card()):
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

    report = scan_tree(chaos_dir)
    print("\n" + report.line() + f" refused_attempts={refused}")
    assert report.files["db"] and report.files["log"] and report.files["dlq"]
    assert report.files["metrics"] and SEEDED_MOBILES
    assert report.sensitive == [], report.sensitive[:5]
    assert report.mobiles == [], report.mobiles[:5]
