"""Issue 19's days on a system started the README way: one `crm run` (what `make run`
runs: every service and gateway a separate process) and `crm demo` (what `make demo`
runs), ports shifted by CRM_PORT_OFFSET=500 (tests/e2e/live_stack.py), then in headless
Chromium, with the walks of the in-process browser tests:
- an agent's complaint day on the service desk gateway (8503): a complaint for a
  customer found by name, reply, progress to the customer, coordination, resolution
  with a root cause, close; the customer answers the survey through the ticket page's
  public link in a second browser; the root-cause page counts it
  (test_service_desk_workspace.agent_complaint_day);
- a marketer's campaign on the marketing gateway (8504): create, schedule, launch,
  register participants, check in, feedback, a lead for sales, complete, evaluation
  and exports (test_marketing_workspace.marketer_campaign_day);
- a manager on the dashboard (8505) clicks into each list: every tile and row link
  answers 200 on the right workspace (test_dashboard_links.manager_clicks_into_each_list).
The test's own set-up data (the customers, two back-dated tickets whose clocks have run
out) goes in over the stack's RPC bus, as `crm demo` does.
Screenshots: var/screenshots/live-desk-*.png, live-marketing-*.png, live-dashboard-*.png."""
import time
import uuid
from urllib.parse import urlsplit

import pytest

from tests.e2e.live_stack import crm_run, until
from tests.e2e.test_dashboard_links import manager_clicks_into_each_list, workspace_of
from tests.e2e.test_marketing_workspace import campaign_customers, marketer_campaign_day
from tests.e2e.test_service_desk_workspace import agent_complaint_day, desk_customer
from tests.support.browser import browser, browser_factory  # noqa: F401 (fixtures)
from tests.support.fixtures import actor

pytestmark = [pytest.mark.e2e, pytest.mark.serial]  # fixed ports (offset 500): alone
AGENT = actor("s1", "staff", "service")
MANAGER = actor("m1", "manager", "management")


def settled(rpc):
    """Reporting has applied every event so far (the count holds still for 2 s)."""
    with rpc(MANAGER) as p:
        first = p.reporting.freshness()["events_applied"]
        time.sleep(2)
        second = p.reporting.freshness()["events_applied"]
    return second if second == first and second > 0 else None


def test_desk_marketing_and_dashboard_on_crm_run_and_crm_demo(
        browser, browser_factory, amqp_uri, config, rpc, tmp_path):  # noqa: F811
    with crm_run(amqp_uri, tmp_path) as stack:
        urls = stack.urls
        stack.wait_ready(config, "customers", "sales", "service_desk", "marketing")
        stack.demo(15)
        tag = uuid.uuid4().hex[:5]

        # (a) the agent's day: the customer reaches the desk's own copy by its events
        customer = desk_customer(rpc, tag)

        def in_desk_copy():
            with rpc(AGENT) as p:
                return p.service_desk.search_customers(tag)
        until(in_desk_copy, 60, "the customer in the service desk's copy")
        agent_complaint_day(browser, browser_factory, urls["service_desk"], config, rpc,
                            customer, tag, shots="live-desk")

        # (b) the marketer's campaign, from plan to evaluation
        campaign_id = marketer_campaign_day(browser, urls["marketing"], config,
                                            campaign_customers(rpc, tag), tag,
                                            shots="live-marketing")

        # (c) the manager, once reporting has taken in the demo and the two days
        until(lambda: settled(rpc), 120, "reporting's events")
        checked = manager_clicks_into_each_list(browser, config, urls,
                                                shots="live-dashboard", docs=False)
        landed = {workspace_of(href, urls)[0] for href in checked}
        assert landed == set(urls.values()), landed  # all five workspaces
        # the campaign just evaluated is among the dashboard's rows
        assert any(urlsplit(target).path == f"/app/campaigns/{campaign_id}"
                   for target in checked.values()), sorted(checked.values())
