"""The dashboard in the page's words (issue 19 follow-up): its header says the time
zone as 时区：北京时间 (it read "Asia/Shanghai" inside the zh-CN page), and the 403 page a
staff member gets on the dashboard links to their own scorecard (查看我的考核卡) instead
of printing the path /app/scorecard as text. Real headless Chromium; screenshots."""
import pytest
from selenium.webdriver.common.by import By

from services.reporting.gateway import ReportingGateway
from services.reporting.service import ReportingService
from tests.support.browser import body, browser, screenshot, sign_in, wait_for  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(ReportingGateway, ReportingService)


def test_header_says_beijing_time(base, browser, config):  # noqa: F811
    sign_in(browser, base, config, "m1", "manager", "management", next_path="/dashboard")
    browser.get(f"{base}/dashboard")
    wait_for(browser, lambda d: d.find_elements(By.ID, "period-label"))
    text = body(browser)
    assert "时区：北京时间" in text and "Asia/Shanghai" not in text
    screenshot(browser, "reporting-dashboard-timezone", full_page=False)
    browser.get(f"{base}/dashboard?lang=en")
    assert "Time zone: China Standard Time (Beijing)" in body(browser)


def test_staff_403_links_to_their_scorecard(base, browser, config):  # noqa: F811
    sign_in(browser, base, config, "s1", "staff", "service")
    browser.get(f"{base}/dashboard")
    wait_for(browser, lambda d: d.find_elements(By.ID, "error-403"))
    link = browser.find_element(By.ID, "my-scorecard")
    assert link.text == "查看我的考核卡" and link.get_attribute("href") == f"{base}/app/scorecard"
    assert "/app/scorecard" not in body(browser)  # no path printed as text
    screenshot(browser, "reporting-staff-403-scorecard-link")
    link.click()
    wait_for(browser, lambda d: d.current_url.startswith(f"{base}/app/scorecard"))
    assert browser.find_elements(By.ID, "scorecard-heading")
