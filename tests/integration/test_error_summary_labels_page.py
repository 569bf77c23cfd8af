"""The error summary at the top of a refused form names each field by its label and
links to it (it said "此项为必填项。" with no field, issue 19 walk): the service desk's
FAQ form, refused in real headless Chromium, in zh-CN and in English; nothing written.
Screenshot var/screenshots/."""
import uuid

import pytest
from selenium.webdriver.common.by import By

from services.service_desk.gateway import ServiceDeskGateway
from services.service_desk.service import ServiceDeskService
from tests.support.browser import body, browser, screenshot, sign_in, wait_for  # noqa: F401
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]
AGENT = actor(f"es-{TAG}", "staff", "service")


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(ServiceDeskGateway, ServiceDeskService)


def refuse(browser, base, lang):  # noqa: F811
    browser.get(f"{base}/app/faq/new?lang={lang}")
    browser.find_element(By.ID, "f-question").send_keys(f"问{TAG}")
    for blank in ("f-answer", "f-category"):  # white space passes `required`, not the service
        browser.find_element(By.ID, blank).send_keys("   ")
    browser.find_element(By.CSS_SELECTOR, "#faq-form button[type=submit]").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "error-summary"))
    return {a.get_attribute("href").split("#", 1)[1]: a.text for a in
            browser.find_elements(By.CSS_SELECTOR, "#error-summary a")}


def field_error(browser, fid):  # noqa: F811
    return browser.find_element(By.CSS_SELECTOR, f"#{fid}-error-1").text


def test_summary_names_and_links_each_field(base, browser, config, rpc):  # noqa: F811
    sign_in(browser, base, config, AGENT["id"], "staff", "service")
    links = refuse(browser, base, "zh_CN")
    assert set(links) == {"f-answer", "f-category"}, links
    assert links["f-answer"] == "解答：" + field_error(browser, "f-answer")
    assert links["f-category"] == "分类：" + field_error(browser, "f-category")
    screenshot(browser, "kit-error-summary-labels")
    browser.find_element(By.CSS_SELECTOR, "#error-summary a[href='#f-category']").click()
    assert browser.current_url.endswith("#f-category")
    links = refuse(browser, base, "en")
    assert links["f-answer"] == "Answer: " + field_error(browser, "f-answer")
    assert links["f-category"] == "Category: " + field_error(browser, "f-category")
    with rpc(AGENT) as p:
        assert not [f for f in p.service_desk.list_faqs({}, 1, 100)["items"]
                    if f["question"] == f"问{TAG}"]
