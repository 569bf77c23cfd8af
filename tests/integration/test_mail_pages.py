"""The mail parts of the workspaces: the sales 通知设置 page (where follow-up notices go)
and the service desk ticket page saying where the survey link was mailed; HTTP and
headless Chromium (screenshots var/screenshots/mail-*.png)."""
import re
import uuid

import pytest

from services.common.cli.demo import demo_customers
from services.customers.service import CustomersService
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from services.service_desk.gateway import ServiceDeskGateway
from services.service_desk.service import ServiceDeskService
from tests.support.browser import (  # noqa: F401
    body,
    browser,
    by_id,
    fill,
    screenshot,
    sign_in,
    wait_for,
)
from tests.support.fixtures import actor, free_port
from tests.support.web_session import WebSession

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def bases(module_services, config):
    sales_port, desk_port = free_port(), free_port()
    module_services(CustomersService, SalesService, ServiceDeskService)  # no SMTP: pending
    module_services(SalesGateway, WEB_SERVER_ADDRESS=f"127.0.0.1:{sales_port}")
    module_services(ServiceDeskGateway, WEB_SERVER_ADDRESS=f"127.0.0.1:{desk_port}")
    return f"http://127.0.0.1:{sales_port}", f"http://127.0.0.1:{desk_port}"


def test_notify_settings_page_sets_and_refuses(bases, config, rpc):
    user = f"np-{TAG}"
    s = WebSession(bases[0], config, user)
    page = s.get("/app/settings/notifications")
    assert page.status_code == 200 and 'id="notify-form"' in page.text
    assert "尚未设置邮箱" in page.text and 'id="nav-notify"' in page.text
    token = CSRF.search(page.text).group(1)
    bad = s.post("/app/settings/notifications", data={"csrf_token": token,
                                                      "email": "zhang at example"})
    assert bad.status_code == 422 and 'id="f-email-error-1"' in bad.text
    assert 'value="zhang at example"' in bad.text  # what was typed is kept
    with rpc(actor(user)) as p:
        assert p.sales.get_notify_settings()["email"] is None  # nothing written
    ok = s.post("/app/settings/notifications", data={"csrf_token": token,
                                                     "email": "zhang.san@example.com"},
                allow_redirects=False)
    assert ok.status_code in (302, 303)
    again = s.get("/app/settings/notifications")
    assert "提醒邮件将发送至 z***@example.com" in again.text
    with rpc(actor(user)) as p:
        assert p.sales.get_notify_settings() == {"email": "zhang.san@example.com",
                                                 "email_masked": "z***@example.com"}


def test_notify_settings_error_in_both_languages(bases, config, rpc):
    """The service's field message shown in the page's language: zh-CN by default,
    English with ?lang=en (the catalogue's msg: entries), never the other one."""
    zh_text = "请填写一个邮箱地址，如 zhang.san@example.com"
    en_text = "one plain e-mail address, e.g. zhang.san@example.com"
    for lang, want, unwanted in (("zh_CN", zh_text, en_text), ("en", en_text, zh_text)):
        s = WebSession(bases[0], config, f"nl-{lang}-{TAG}")
        page = s.get(f"/app/settings/notifications?lang={lang}")
        assert page.status_code == 200
        bad = s.post("/app/settings/notifications",
                     data={"csrf_token": CSRF.search(page.text).group(1),
                           "email": "x@y, z@w.com"})
        assert bad.status_code == 422
        error = bad.text.split('id="f-email-error-1"', 1)[1].split("</", 1)[0]
        assert want in error, error
        assert unwanted not in bad.text and "邮箱地址" not in error.replace(want, "")
        if lang == "en":
            assert "Notifications" in bad.text and "通知设置" not in bad.text
    with rpc(actor(f"nl-en-{TAG}")) as p:
        assert p.sales.get_notify_settings()["email"] is None  # nothing written


def _resolved_ticket(rpc, contact, agent):
    data = next(demo_customers(1, ["sales-1"], seed=uuid.uuid4().int % 10**9))
    data["contacts"] = [{"name": "赵先生", "title": "厂长", "mobile": "13700001111",
                         "is_primary": True}]
    with rpc(actor("sales-1")) as p:
        customer = p.customers.create_customer(data)
    with rpc(actor(f"npm-{TAG}", "manager", "service")) as p:
        p.service_desk.set_agent(agent, {"name": agent, "categories": []})
        t = p.service_desk.open_ticket({
            "kind": "complaint", "severity": "high", "customer_id": customer["id"],
            "complainant_name": "王女士", "complainant_contact": contact, "channel": "phone",
            "subject": f"设备故障 {TAG}", "description": "设备开机后报警。"})
        p.service_desk.assign_ticket(t["id"], agent)
    with rpc(actor(agent, "staff", "service")) as p:
        p.service_desk.resolve_ticket(t["id"], "已更换", "product_defect")
    return t


def test_ticket_page_says_where_the_survey_link_went(bases, config, rpc):
    agent = f"na-{TAG}"
    s = WebSession(bases[1], config, agent, "staff", "service")
    for contact, expect in (("wang.li@example.com", "已发送至 w***@example.com"),
                            ("13812345678", "不知道客户的邮箱")):
        t = _resolved_ticket(rpc, contact, agent)
        page = s.get(f"/app/tickets/{t['id']}")
        r = s.post(f"/app/tickets/{t['id']}/survey-link",
                   data={"csrf_token": CSRF.search(page.text).group(1)})
        assert r.status_code == 200
        mailed = r.text.split('id="survey-mailed"', 1)[1].split("</p>", 1)[0]
        assert expect in mailed
        assert "wang.li@example.com" not in r.text.split('id="survey-link"', 1)[1].split(
            "</div>", 1)[0]


def test_pages_in_chromium(bases, config, rpc, browser):  # noqa: F811
    sales, desk = bases
    user = f"nb-{TAG}"
    sign_in(browser, sales, config, user, "staff", "sales")
    browser.get(sales + "/app/settings/notifications")
    fill(browser, {"f-email": "not-an-address"})
    by_id(browser, "save-notify").click()
    wait_for(browser, lambda d: "请填写一个邮箱地址" in body(d))  # the page after the POST
    screenshot(browser, "mail-notify-settings-error")
    fill(browser, {"f-email": "li.si@example.com"})
    by_id(browser, "save-notify").click()
    wait_for(browser, lambda d: "提醒邮件将发送至 l***@example.com" in body(d))
    screenshot(browser, "mail-notify-settings")
    agent = f"nc-{TAG}"
    t = _resolved_ticket(rpc, "chen.wu@example.com", agent)
    sign_in(browser, desk, config, agent, "staff", "service")
    browser.get(f"{desk}/app/tickets/{t['id']}")
    browser.find_element("css selector", "#form-survey-link button").click()
    wait_for(browser, lambda d: "已发送至 c***@example.com" in body(d))  # not the old page
    screenshot(browser, "mail-survey-link-sent")
    browser.get(f"{desk}/app/tickets/{t['id']}")  # later: the status stays on the page
    assert "调查链接邮件等待发送至 c***@example.com" in body(browser)  # no SMTP here
