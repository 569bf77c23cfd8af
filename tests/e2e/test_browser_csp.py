"""The kit's Content-Security-Policy in headless Chromium: every workspace page that
loads a script (sales board, order lines, service desk clocks, campaign audience
count), the Swagger UI and the dashboard run without a single CSP violation, and
the policy really is enforced (an inline script injected into a page is blocked).
Violations are collected by a listener installed through DevTools before any page
script runs (DevTools scripts are not subject to the page's CSP)."""
import pytest
from selenium.webdriver.common.by import By

from services.customers.service import CustomersService
from services.marketing.gateway import MarketingGateway
from services.marketing.service import MarketingService
from services.reporting.gateway import ReportingGateway
from services.reporting.service import ReportingService
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from services.service_desk.gateway import ServiceDeskGateway
from services.service_desk.service import ServiceDeskService
from tests.support.browser import browser, screenshot, sign_in, wait_for  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
LISTENER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile));
"""


def violations(driver):
    return driver.execute_script("return window.__csp || []")


def test_pages_run_under_the_csp(browser, config, start_service, start_gateway):  # noqa: F811
    for cls in (CustomersService, SalesService, ServiceDeskService, MarketingService,
                ReportingService):
        start_service(cls)
    sales, desk, marketing, reporting = (start_gateway(g) for g in (
        SalesGateway, ServiceDeskGateway, MarketingGateway, ReportingGateway))
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": LISTENER})
    sign_in(browser, sales, config, "m1", next_path="/app/my-day")
    pages = [(sales, "/app/my-day"), (sales, "/app/pipeline"), (sales, "/app/orders/new"),
             (sales, "/app/forecast"), (desk, "/app/tickets"), (marketing, "/app/campaigns/new"),
             (reporting, "/dashboard"), (sales, "/docs"), (sales, "/login")]
    for base, path in pages:
        browser.get(base + path)
        wait_for(browser, lambda d: d.execute_script("return document.readyState") == "complete")
        if path == "/docs":
            wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"))
        assert browser.find_elements(By.CSS_SELECTOR, ".site-header"), path
        assert violations(browser) == [], (path, violations(browser))
    # the header badge is in the layout's header
    browser.get(sales + "/app/pipeline")
    screenshot(browser, "csp-sales-pipeline")
    # enforced: an inline script added to the page does not run, and is reported
    browser.execute_script(
        "const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        "document.body.appendChild(s);")
    wait_for(browser, lambda d: violations(d))
    assert browser.execute_script("return window.__ran || 0") == 0
    assert violations(browser)[0].startswith("script-src-elem inline")


def test_sales_header_badge_in_the_browser(browser, config, start_service,  # noqa: F811
                                           start_gateway, rpc):
    import uuid

    from tests.integration.test_web_kit_hooks import _overdue_follow_up
    start_service(CustomersService)
    start_service(SalesService)
    sales = start_gateway(SalesGateway)
    me = f"kb-{uuid.uuid4().hex[:6]}"
    _overdue_follow_up(rpc, me)
    sign_in(browser, sales, config, me, role="staff", department="sales",
            next_path="/app/leads")
    badge = browser.find_element(By.CSS_SELECTOR, ".user-box #due-badge")
    assert badge.text == "待跟进 1" and "header-badge--danger" in badge.get_attribute("class")
    screenshot(browser, "header-badge-sales", full_page=False)
    badge.click()
    wait_for(browser, lambda d: d.current_url.endswith("/app/my-day"))
    assert "call back" in browser.find_element(By.TAG_NAME, "main").text
