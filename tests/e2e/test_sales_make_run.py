"""The salesperson's day (issue 18) on a system started the README way: `crm run`
(what `make run` runs: every service and gateway a separate process) and `crm demo`
(what `make demo` runs), then the whole day in headless Chromium on the sales gateway.
Ports shifted by CRM_PORT_OFFSET=500 so a developer's own stack can keep running.
Screenshots: var/screenshots/sales-live-*.png."""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from services.common.auth import mint_token
from tests.e2e.test_sales_workspace import new_lead, walk_the_day
from tests.support.browser import browser  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.serial]  # fixed ports (offset 500): alone
ROOT = Path(__file__).resolve().parents[2]
OFFSET = 500


def _until(fn, timeout, what):
    deadline = time.time() + timeout
    while True:
        try:
            result = fn()
            if result:
                return result
        except requests.RequestException:
            pass
        if time.time() > deadline:
            raise AssertionError(f"{what} not ready in {timeout} s")
        time.sleep(0.5)


def test_the_day_on_crm_run_and_crm_demo(browser, amqp_uri, config, tmp_path):  # noqa: F811
    base = f"http://127.0.0.1:{8002 + OFFSET}"
    try:
        requests.get(base, timeout=1)
        pytest.fail(f"port {8002 + OFFSET} is busy (another stack with CRM_PORT_OFFSET=500?)")
    except requests.ConnectionError:
        pass
    env = dict(os.environ, AMQP_URI=amqp_uri, CRM_VAR_DIR=str(tmp_path / "var"),
               PYTHONUNBUFFERED="1", CRM_PORT_OFFSET=str(OFFSET))
    for s in ("CUSTOMERS", "SALES", "SERVICE_DESK", "MARKETING", "REPORTING"):
        env[f"{s}_DATABASE_URL"] = f"sqlite:///{tmp_path}/{s.lower()}.db"
    crm = str(Path(sys.executable).parent / "crm")
    log = open(tmp_path / "run.log", "w+")
    proc = subprocess.Popen([crm, "run"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        boss = {"Authorization": f"Bearer {mint_token(config, 'm1', 'manager', 'sales')}"}
        _until(lambda: requests.get(f"{base}/leads", headers=boss, timeout=5).status_code == 200,
               180, "the sales service behind the gateway")
        demo = subprocess.run([crm, "demo", "--count", "15"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
        # a lead comes in through the JSON API, unassigned (a manager enters it)
        company = f"华东精工{uuid.uuid4().hex[:6]}有限公司"
        r = requests.post(f"{base}/leads", json=new_lead(company), headers=boss, timeout=30)
        assert r.status_code == 201, r.text
        order_id = walk_the_day(browser, base, config, r.json(), company, shots="sales-live")
        u1 = {"Authorization": f"Bearer {mint_token(config, 'u1', 'staff', 'sales')}"}
        order = requests.get(f"{base}/orders/{order_id}", headers=u1, timeout=30).json()
        assert order["status"] == "completed" and order["outstanding"] == "0.00"
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
