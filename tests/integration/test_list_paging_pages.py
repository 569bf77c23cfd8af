"""The campaigns page pages by cursor like the tickets queue (issue 20): with
``?cursor=`` (the link a long list gives) it shows the campaigns after that one, a
"第一页" link back and a next link only while rows follow; a garbage cursor is a 422
page, not a stack trace. Real headless Chromium; screenshot var/screenshots/."""
import uuid

import pytest
from selenium.webdriver.common.by import By

from services.marketing.gateway import MarketingGateway
from services.marketing.service import MarketingService
from tests.integration.test_marketing_support import plan
from tests.support.browser import body, browser, fetch, screenshot, sign_in  # noqa: F401
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration
TAG = f"游标{uuid.uuid4().hex[:6]}"
MARKETER = actor(f"pp-k-{uuid.uuid4().hex[:6]}", "staff", "marketing")


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(MarketingGateway, MarketingService)


def test_campaigns_page_follows_the_cursor(base, browser, config, rpc):  # noqa: F811
    with rpc(MARKETER) as p:
        made = [p.marketing.create_campaign(plan(theme=f"{TAG}活动{i}"))["id"]
                for i in range(3)]
        cursor = p.marketing.list_campaigns({"q": TAG}, page_size=1)["next_cursor"]
    sign_in(browser, base, config, MARKETER["id"], "staff", "marketing")
    browser.get(f"{base}/app/campaigns?q={TAG}&cursor={cursor}")
    shown = [int(r.get_attribute("id").split("-")[1])
             for r in browser.find_elements(By.CSS_SELECTOR, "tr[id^=campaign-]")]
    assert shown == sorted(made, reverse=True)[1:]  # after the newest, newest first
    assert browser.find_element(By.ID, "first-page").get_attribute("href").endswith("page=1")
    assert "第一页" in body(browser) and "下一页" not in body(browser)
    screenshot(browser, "marketing-campaigns-cursor")
    browser.find_element(By.ID, "first-page").click()
    shown = [r.get_attribute("id") for r in
             browser.find_elements(By.CSS_SELECTOR, "tr[id^=campaign-]")]
    assert len(shown) == 3
    status, _, html = fetch(browser, f"{base}/app/campaigns?q={TAG}&cursor=garbage")
    assert status == 422 and b"Traceback" not in html
