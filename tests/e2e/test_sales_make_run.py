"""The salesperson's day (issue 18) on a system started the README way: `crm run`
(what `make run` runs: every service and gateway a separate process) and `crm demo`
(what `make demo` runs), then the whole day in headless Chromium on the sales gateway.
Ports shifted by CRM_PORT_OFFSET=500 so a developer's own stack can keep running
(tests/e2e/live_stack.py). Screenshots: var/screenshots/sales-live-*.png."""
import uuid

import pytest
import requests

from services.common.auth import mint_token
from tests.e2e.live_stack import crm_run
from tests.e2e.test_sales_workspace import new_lead, walk_the_day
from tests.support.browser import browser  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.serial]  # fixed ports (offset 500): alone


def test_the_day_on_crm_run_and_crm_demo(browser, amqp_uri, config, tmp_path):  # noqa: F811
    with crm_run(amqp_uri, tmp_path) as stack:
        base = stack.urls["sales"]
        stack.wait_ready(config, "sales")
        stack.demo(15)
        # a lead comes in through the JSON API, unassigned (a manager enters it)
        boss = {"Authorization": f"Bearer {mint_token(config, 'm1', 'manager', 'sales')}"}
        company = f"华东精工{uuid.uuid4().hex[:6]}有限公司"
        r = requests.post(f"{base}/leads", json=new_lead(company), headers=boss, timeout=30)
        assert r.status_code == 201, r.text
        order_id = walk_the_day(browser, base, config, r.json(), company, shots="sales-live")
        u1 = {"Authorization": f"Bearer {mint_token(config, 'u1', 'staff', 'sales')}"}
        order = requests.get(f"{base}/orders/{order_id}", headers=u1, timeout=30).json()
        assert order["status"] == "completed" and order["outstanding"] == "0.00"
