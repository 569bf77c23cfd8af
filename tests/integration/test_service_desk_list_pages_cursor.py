"""The care plans and FAQ pages page by cursor like the tickets queue (the plans page
showed 100 plans and no more; the FAQ page 100 entries): 25 rows, 下一页 while rows
follow, 第一页 back; a garbage cursor is a 422 page, no stack trace; no "#" column of
internal numbers (an FAQ question links to its entry). Real headless Chromium;
screenshots var/screenshots/."""
import uuid

import pytest
from selenium.webdriver.common.by import By

from services.common.cli.demo import demo_customers
from services.customers.service import CustomersService
from services.service_desk.gateway import ServiceDeskGateway
from services.service_desk.service import ServiceDeskService
from tests.support.browser import body, browser, fetch, screenshot, sign_in, wait_for  # noqa: F401,E501
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]
AGENT = actor(f"lp-s-{TAG}", "staff", "service")


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(ServiceDeskGateway, CustomersService, ServiceDeskService)


def rows(browser, prefix):  # noqa: F811
    return [r.get_attribute("id") for r in
            browser.find_elements(By.CSS_SELECTOR, f"tbody tr[id^={prefix}-]")]


def headers(browser, table):  # noqa: F811
    return [h.text for h in browser.find_elements(By.CSS_SELECTOR, f"#{table} thead th")]


def test_faq_page_pages_by_cursor(base, browser, config, rpc):  # noqa: F811
    category = f"分页{TAG}"
    with rpc(AGENT) as p:
        made = [p.service_desk.create_faq({"question": f"问题{i:02d}{TAG}", "answer": "答",
                                           "category": category})["id"] for i in range(27)]
    sign_in(browser, base, config, AGENT["id"], "staff", "service")
    browser.get(f"{base}/app/faq?category={category}")
    first = rows(browser, "faq")
    # the newest first: an entry just written is on the first page
    assert first == [f"faq-{i}" for i in sorted(made, reverse=True)[:25]]
    assert "#" not in headers(browser, "faqs") and "第一页" not in body(browser)
    link = browser.find_element(By.CSS_SELECTOR, f"#faq-{made[-1]} td a")
    assert link.get_attribute("href").endswith(f"/app/faq/{made[-1]}/edit")
    screenshot(browser, "service-desk-faq-paged")
    browser.find_element(By.CSS_SELECTOR, "a[rel=next]").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "first-page"))
    assert rows(browser, "faq") == [f"faq-{i}" for i in sorted(made, reverse=True)[25:]]
    assert not browser.find_elements(By.CSS_SELECTOR, "a[rel=next]")
    browser.find_element(By.ID, "first-page").click()
    wait_for(browser, lambda d: not d.find_elements(By.ID, "first-page"))
    assert rows(browser, "faq") == first
    status, _, html = fetch(browser, f"{base}/app/faq?cursor=garbage")
    assert status == 422 and b"Traceback" not in html


def test_care_plans_page_pages_by_cursor(base, browser, config, rpc):  # noqa: F811
    made = []
    with rpc() as p:
        for n in range(9):
            data = next(demo_customers(1, ["sales-1"], seed=uuid.uuid4().int % 10**9))
            data["name"] = f"分页{TAG}客户{n}有限公司"
            cid = p.customers.create_customer(data)["id"]
            for kind, extra in (("birthday", {}), ("holiday", {}),
                                ("contract_expiry", {"expiry_date": "2027-12-31"})):
                made.append(p.service_desk.create_care_plan(cid, kind, AGENT["id"],
                                                            **extra)["id"])
    sign_in(browser, base, config, AGENT["id"], "staff", "service")
    browser.get(f"{base}/app/care/plans")
    first = rows(browser, "plan")
    assert first == [f"plan-{i}" for i in sorted(made, reverse=True)[:25]]
    assert "#" not in headers(browser, "plans") and "共 27 条" in body(browser)
    screenshot(browser, "service-desk-plans-paged")
    browser.find_element(By.CSS_SELECTOR, "a[rel=next]").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "first-page"))
    assert rows(browser, "plan") == [f"plan-{i}" for i in sorted(made, reverse=True)[25:]]
    assert not browser.find_elements(By.CSS_SELECTOR, "a[rel=next]")
    screenshot(browser, "service-desk-plans-page-2")
    browser.find_element(By.ID, "first-page").click()
    wait_for(browser, lambda d: not d.find_elements(By.ID, "first-page"))
    assert rows(browser, "plan") == first
    status, _, html = fetch(browser, f"{base}/app/care/plans?cursor=garbage")
    assert status == 422 and b"Traceback" not in html
