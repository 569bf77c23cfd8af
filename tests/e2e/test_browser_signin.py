"""Sign-in in real headless Chromium: the login page, the layout (user, department
switcher, sign-out), the language switch remembered, sign-out, and the managers'
dashboard on the reporting gateway with the same sign-in. Screenshots under
var/screenshots/ (signin-*.png)."""
import pytest
from selenium.webdriver.common.by import By

from services.customers.gateway import CustomersGateway
from services.customers.service import CustomersService
from services.reporting.gateway import ReportingGateway
from services.reporting.service import ReportingService
from tests.support.browser import browser, screenshot, sign_in, sign_out, wait_for  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def text(driver):
    return driver.find_element(By.TAG_NAME, "body").text


def test_sign_in_layout_language_sign_out(browser, config, start_service,  # noqa: F811
                                          start_gateway):
    start_service(CustomersService)
    base = start_gateway(CustomersGateway)
    browser.get(base + "/")  # a browser at the workspace root is asked to sign in
    wait_for(browser, lambda d: "/login" in d.current_url)
    assert "如何获取令牌" in text(browser) and "crm token --user u1" in text(browser)
    screenshot(browser, "signin-login")

    sign_in(browser, base, config, "u1", next_path="/app")
    assert browser.current_url == base + "/app"
    body = text(browser)
    assert "王芳" in body and "欢迎，王芳" in body  # name from the directory; the flash
    switcher = [a.text for a in browser.find_elements(By.CSS_SELECTOR, ".switcher a")]
    # sales staff: their workspaces and their own scorecard (8005), no dashboard, no service desk
    assert switcher == ["客户管理", "销售管理", "我的绩效"]
    cookies = {c["name"]: c for c in browser.get_cookies()}
    assert cookies["crm_token"]["httpOnly"] and cookies["crm_token"]["sameSite"] == "Strict"
    screenshot(browser, "signin-home-zh")

    browser.find_element(By.LINK_TEXT, "English").click()
    wait_for(browser, lambda d: "Sign out" in text(d))
    browser.get(base + "/app")  # remembered without ?lang=
    assert "Sign out" in text(browser) and "Customers" in text(browser)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    screenshot(browser, "signin-home-en")
    browser.get(base + "/app/no-such-page")
    assert "Not found, or not yours." in text(browser)
    screenshot(browser, "signin-404-en")

    sign_out(browser)
    assert "You have signed out." in text(browser)
    assert "crm_token" not in {c["name"] for c in browser.get_cookies()}
    browser.get(base + "/app")
    wait_for(browser, lambda d: "/login" in d.current_url)
    browser.get(base + "/app?lang=zh_CN")
    wait_for(browser, lambda d: "/login" in d.current_url)


def test_dashboard_with_the_same_sign_in(browser, config, start_service,  # noqa: F811
                                         start_gateway):
    start_service(CustomersService)
    start_service(ReportingService)
    customers = start_gateway(CustomersGateway)
    reporting = start_gateway(ReportingGateway)
    browser.get(reporting + "/dashboard")  # no session: the sign-in page, not a 401
    wait_for(browser, lambda d: "/login" in d.current_url)
    assert "next=%2Fdashboard" in browser.current_url
    # one sign-in (on the customers workspace) covers every gateway of the host
    sign_in(browser, customers, config, "m1", next_path="/app")
    switcher = [a.text for a in browser.find_elements(By.CSS_SELECTOR, ".switcher a")]
    assert switcher == ["客户管理", "销售管理", "客户服务", "市场活动", "经营看板"]
    browser.get(reporting + "/dashboard")
    wait_for(browser, lambda d: "经营看板" in d.title or "经营看板" in text(d))
    assert "/dashboard" in browser.current_url
    bar = browser.find_element(By.CSS_SELECTOR, ".site-header")  # the kit's layout header
    assert "周经理" in bar.text and "退出登录" in bar.text
    assert bar.find_element(By.CSS_SELECTOR, ".switcher a.current").text == "经营看板"
    screenshot(browser, "signin-dashboard")
    browser.get(reporting + "/")  # / of 8005 is the dashboard
    wait_for(browser, lambda d: "/dashboard" in d.current_url)
    # staff may sign in but the dashboard refuses them (managers only)
    sign_in(browser, reporting, config, "u2", next_path="/app")
    browser.get(reporting + "/dashboard")
    assert "无权操作" in text(browser)  # the kit's 403 page
    home = browser.find_element(By.ID, "error-home").get_attribute("href")
    assert home.endswith("/go/customers")  # not back to the dashboard that refused
    screenshot(browser, "signin-dashboard-staff-403")
    # ... and the switcher's 我的绩效 is their own scorecard on this gateway
    browser.find_element(By.LINK_TEXT, "我的绩效").click()
    wait_for(browser, lambda d: "/app/scorecard" in d.current_url)
    wait_for(browser, lambda d: d.find_elements(By.ID, "scorecard-month"))
    assert browser.find_element(By.CSS_SELECTOR, ".switcher a.current").text == "我的绩效"
    screenshot(browser, "signin-staff-scorecard")
    # sign out from the dashboard's own bar
    browser.get(customers + "/app")
    sign_in(browser, customers, config, "m1", next_path="/app")
    browser.get(reporting + "/dashboard")
    sign_out(browser)
    browser.get(reporting + "/dashboard")
    wait_for(browser, lambda d: "/login" in d.current_url)


def test_api_docs_render_offline(browser, start_gateway):  # noqa: F811
    base = start_gateway(CustomersGateway)
    browser.get(base + "/docs")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .info .title"))
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"))
    assert "Kehu CRM" in browser.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title").text
    ops = browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    assert "/customers" in {o.text.replace("\u200b", "") for o in ops}
    # nothing was fetched from outside the gateway
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert urls and all(u.startswith(base) for u in urls), urls
    screenshot(browser, "signin-docs", full_page=False)
