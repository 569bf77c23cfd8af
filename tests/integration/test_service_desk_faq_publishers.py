"""Agents publish the FAQ too (issue 19: "agents and managers edit, publish and see top
hits"; publish_faq used to be manager-only): a service agent publishes and withdraws
an entry over RPC and from the FAQ page (the button is there for them, pressed in
real headless Chromium, and the customers' public page shows the entry); staff of
other departments stay refused with nothing changed. Screenshot var/screenshots/."""
import uuid

import pytest
from selenium.webdriver.common.by import By

from services.common.errors import Forbidden
from services.common.web import session
from services.service_desk.gateway import ServiceDeskGateway
from services.service_desk.service import ServiceDeskService
from tests.support.browser import body, browser, screenshot, sign_in, wait_for  # noqa: F401
from tests.support.fixtures import actor
from tests.support.web_session import WebSession

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]
AGENT = actor(f"fp-s-{TAG}", "staff", "service")
SALES = actor(f"fp-u-{TAG}", "staff", "sales")
MARKETER = actor(f"fp-k-{TAG}", "staff", "marketing")
MANAGER = actor(f"fp-m-{TAG}", "manager", "management")


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(ServiceDeskGateway, ServiceDeskService)


def draft(rpc, question):
    with rpc(AGENT) as p:
        return p.service_desk.create_faq({"question": question, "answer": "在订单页申请。",
                                          "category": f"售后{TAG}"})


def test_agent_publishes_and_withdraws_other_departments_refused(base, rpc):
    f = draft(rpc, f"发票怎么开{TAG}")
    for outsider in (SALES, MARKETER):
        with rpc(outsider) as p, pytest.raises(Forbidden):
            p.service_desk.publish_faq(f["id"])
    with rpc(AGENT) as p:
        assert p.service_desk.get_faq(f["id"])["status"] == "draft"  # nothing written
        assert p.service_desk.publish_faq(f["id"])["status"] == "published"
    with rpc() as p:  # the customers' self-service search finds it now
        assert [x["id"] for x in p.service_desk.search_faq(f"发票怎么开{TAG}")["items"]][:1] \
            == [f["id"]]
    for outsider in (SALES, MARKETER):
        with rpc(outsider) as p, pytest.raises(Forbidden):
            p.service_desk.unpublish_faq(f["id"])
    with rpc(AGENT) as p:
        assert p.service_desk.get_faq(f["id"])["status"] == "published"
        assert p.service_desk.unpublish_faq(f["id"])["status"] == "draft"
    with rpc(MANAGER) as p:  # managers keep the right
        assert p.service_desk.publish_faq(f["id"])["status"] == "published"


def test_other_departments_post_to_the_page_refused_nothing_written(base, config, rpc):
    f = draft(rpc, f"退货流程{TAG}")
    s = WebSession(base, config, SALES["id"], "staff", "sales")
    csrf = session.csrf_token(config, s.cookies.get("crm_token"))  # a valid form token
    r = s.post(f"/app/faq/{f['id']}/publish", data={"csrf_token": csrf})
    assert r.status_code == 403 and "Traceback" not in r.text
    with rpc(AGENT) as p:
        assert p.service_desk.get_faq(f["id"])["status"] == "draft"


def test_agent_publishes_from_the_faq_page(base, browser, config, rpc):  # noqa: F811
    f = draft(rpc, f"如何修改收货地址{TAG}")
    sign_in(browser, base, config, AGENT["id"], "staff", "service")
    browser.get(f"{base}/app/faq?status=draft&category=售后{TAG}")
    row = browser.find_element(By.ID, f"faq-{f['id']}")
    assert "经理审核" not in body(browser)
    row.find_element(By.XPATH, ".//button[normalize-space()='发布']").click()
    wait_for(browser, lambda d: "/app/faq" in d.current_url and "已发布" in body(d))
    browser.get(f"{base}/app/faq")
    row = browser.find_element(By.ID, f"faq-{f['id']}")
    assert "已发布" in row.text and "撤回" in row.text
    screenshot(browser, "service-desk-faq-agent-publishes")
    browser.get(f"{base}/app/public/faq?q=收货地址{TAG}")
    assert f"如何修改收货地址{TAG}" in body(browser)
    with rpc(AGENT) as p:
        assert p.service_desk.get_faq(f["id"])["status"] == "published"
