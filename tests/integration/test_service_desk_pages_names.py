"""What an agent reads on the service workspace's pages is names, never ids (found in
the issue-19 acceptance walk): a refused new ticket keeps the customer picked by name
(it used to show the bare customer id), care plans and improvement actions name their
people (they showed ``s1`` and ``system``), the manager's assign list uses the same
names as the rest of the page (the roster's demo names differed from the header's),
and the timeline's resolution says the root cause it was resolved with."""
import datetime as dt
import re
import time
import uuid

import pytest

from services.common.cli.demo import demo_customers
from services.customers.service import CustomersService
from services.service_desk.gateway import ServiceDeskGateway
from services.service_desk.service import ServiceDeskService
from tests.support.fixtures import actor
from tests.support.web_session import WebSession

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]
AGENT = f"pn-{TAG}"
MANAGER = actor(f"pnm-{TAG}", "manager", "service")


@pytest.fixture(scope="module")
def base(module_gateway, config):
    url = module_gateway(ServiceDeskGateway, CustomersService, ServiceDeskService)
    from services.common.cli.rpc_client import cluster
    with cluster(config, MANAGER) as p:
        p.service_desk.set_agent(AGENT, {"name": f"名册姓名{TAG}", "categories": []})
    return url


@pytest.fixture(scope="module")
def customer(base, config):
    from services.common.cli.rpc_client import cluster
    data = next(demo_customers(1, ["sales-1"], seed=uuid.uuid4().int % 10**9))
    data["name"] = f"无锡{TAG}精密有限公司"
    with cluster(config) as p:
        made = p.customers.create_customer(data)
    with cluster(config, MANAGER) as p:  # the service desk's copy arrives by event
        deadline = time.time() + 20
        while not p.service_desk.search_customers(TAG, 10) and time.time() < deadline:
            time.sleep(0.2)
    return made


def web(base, config, user, role="staff", department="service"):
    return WebSession(base, config, user, role, department)


def test_refused_new_ticket_keeps_the_customer_picked_by_name(base, config, customer, rpc):
    s = web(base, config, AGENT)
    page = s.get("/app/tickets/new", params={"customer_q": TAG})
    assert customer["name"] in page.text
    # what a browser posts: the ticket form's own hidden fields (the search among them)
    # and what the agent typed; the description is missing
    form = page.text.split('id="ticket-form"', 1)[1].split("</form>", 1)[0]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    assert hidden.get("customer_q") == TAG
    r = s.post("/app/tickets/new", data=dict(hidden, **{
        "kind": "complaint", "severity": "high", "channel": "phone",
        "complainant_name": "周先生", "subject": f"缺描述 {TAG}", "description": "",
        "customer_id": str(customer["id"])}))
    assert r.status_code == 422 and '<a href="#f-description"' in r.text
    picker = r.text.split('id="f-customer_id"', 1)[1].split("</fieldset>", 1)[0]
    assert customer["name"] in picker
    assert re.search(rf'value="{customer["id"]}"\s+checked', picker), picker
    with rpc(MANAGER) as p:
        assert p.service_desk.list_tickets({"q": f"缺描述 {TAG}"})["total"] == 0


def test_care_plans_and_improvements_name_people(base, config, customer, rpc):
    with rpc(actor("s1", "staff", "service")) as p:
        p.service_desk.create_care_plan(customer["id"], "birthday", "s1")
    with rpc() as p:  # a write by the system itself (demo data, timers)
        p.service_desk.record_improvement({"root_cause": "billing",
                                           "action": f"账单模板增加明细 {TAG}"})
    s = web(base, config, "s1")
    plans = s.get("/app/care/plans")
    row = next(r for r in plans.text.split("<tr") if customer["name"] in r)
    assert "<td>刘洋</td>" in row and "<td>s1</td>" not in row
    m = web(base, config, MANAGER["id"], "manager")
    period = dt.date.today().strftime("%Y-%m")
    root = m.get(f"/app/root-causes?period={period}").text
    action = root.split(f"账单模板增加明细 {TAG}", 1)[1].split("</p>", 1)[0]
    assert "系统" in action and "system" not in action


def test_assign_list_and_timeline_use_the_pages_names(base, config, customer, rpc):
    with rpc(MANAGER) as p:
        p.service_desk.set_agent("s3", {"name": "客服小赵", "categories": []})
        try:
            t = p.service_desk.open_ticket({
                "kind": "complaint", "severity": "high", "customer_id": customer["id"],
                "complainant_name": "吴女士", "channel": "phone", "subject": f"名字 {TAG}",
                "description": "发票金额有误"})
            p.service_desk.assign_ticket(t["id"], AGENT)
            m = web(base, config, MANAGER["id"], "manager")
            page = m.get(f"/app/tickets/{t['id']}").text
            assign = page.split('id="f-assignee_id"', 1)[1].split("</select>", 1)[0]
            assert "杨帆" in assign and "客服小赵" not in assign  # s3: the directory's name
            assert f"名册姓名{TAG}" in assign  # no directory entry: the roster's name
            assert f"名册姓名{TAG}" in page.split('id="timeline"', 1)[1]
        finally:
            p.service_desk.set_agent("s3", {"name": "客服小赵", "categories": [],
                                            "active": False})
        p.service_desk.resolve_ticket(t["id"], "发票已重开", "billing")
    page = web(base, config, MANAGER["id"], "manager").get(f"/app/tickets/{t['id']}").text
    resolution = page.split('data-kind="resolution"', 1)[1].split("</li>", 1)[0]
    assert "根本原因：账单费用" in resolution


def test_queue_filters_in_names(base, config, customer, rpc):
    with rpc(MANAGER) as p:
        t = p.service_desk.open_ticket({
            "kind": "inquiry", "severity": "low", "customer_id": customer["id"],
            "complainant_name": "郑先生", "channel": "online", "subject": f"筛选 {TAG}",
            "description": "怎么查物流"})
        p.service_desk.assign_ticket(t["id"], AGENT)
    m = web(base, config, MANAGER["id"], "manager")
    # the customer page's link: the filter names the customer and offers to clear it
    page = m.get(f"/app/tickets?customer_id={customer['id']}&kind=inquiry").text
    chosen = page.split('id="customer-filter"', 1)[1].split("</div>", 1)[0]
    assert customer["name"] in chosen and f'value="{customer["id"]}"' in chosen
    clear = re.search(r'href="([^"]+)" id="clear-customer"', chosen).group(1)
    assert "customer_id" not in clear and "kind=inquiry" in clear
    assert 'type="number"' not in page.split('id="queue"', 1)[0]  # no id to type
    # managers pick an agent by name from the roster, not by typing an employee id
    assign = page.split('id="f-assignee_id"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{AGENT}"' in assign and f"名册姓名{TAG}" in assign
    only = m.get("/app/tickets", params={"view": "all", "assignee_id": AGENT, "q": TAG}).text
    assert f'id="ticket-{t["id"]}"' in only
    assert re.search(rf'<option value="{AGENT}"\s+selected', only)


def test_faq_page_tells_agents_who_publishes(base, config):
    """Agents publish their entries themselves now (issue 19: agents and managers
    publish): the agent's FAQ page says what 发布 does, with no manager's review."""
    agent = web(base, config, AGENT).get("/app/faq").text
    assert 'id="publish-hint"' in agent and "经理审核" not in agent and "发布" in agent
    manager = web(base, config, MANAGER["id"], "manager").get("/app/faq").text
    assert 'id="publish-hint"' in manager and "经理审核" not in manager
