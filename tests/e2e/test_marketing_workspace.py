"""The marketing workspace in headless Chromium, as a marketer runs a campaign:
the form (plan, audience rules with the live count, milestones; a bad window shown
next to its field), schedule, launch, register a customer found by name and a new
contact, check in, feedback, a lead for sales, a milestone done, complete, the
evaluation figures and chart, exports (CSV and XLSX). Screenshots in
var/screenshots/marketing-*.png."""
import csv
import datetime as dt
import io
import uuid
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from services.common.cli.demo import demo_customers
from services.customers.service import CustomersService
from services.marketing.gateway import MarketingGateway
from services.marketing.service import MarketingService
from tests.support.browser import (  # noqa: F401 (fixtures)
    body,
    browser,
    by_id,
    fetch,
    fill,
    screenshot,
    sign_in,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
TAG = uuid.uuid4().hex[:5]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def text_of(driver, element_id):
    """An element's text by script ('' while the page loads: never stale)."""
    return driver.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.innerText : ''",
        element_id)


def set_value(driver, element_id, value):
    """datetime-local / date inputs: set the value as a browser's picker would."""
    driver.execute_script("arguments[0].value = arguments[1];"
                          "arguments[0].dispatchEvent(new Event('change'))",
                          by_id(driver, element_id), value)


def click_in(driver, container_css, label):
    el = driver.find_element(By.CSS_SELECTOR, container_css)
    el.find_element(By.XPATH, f".//button[normalize-space()='{label}']").click()


@pytest.fixture
def stack(start_service, start_gateway, rpc):
    start_service(CustomersService)
    start_service(MarketingService)
    base = start_gateway(MarketingGateway)
    return base, campaign_customers(rpc, TAG)


def campaign_customers(rpc, tag):
    """Three customers in 四川 tagged mk``tag``, two of them 老客户 (the audience)."""
    customers = []
    with rpc() as p:
        for i, tier_tag in enumerate(("老客户", "老客户", "新客户")):
            data = next(demo_customers(1, ["u1"], seed=uuid.uuid4().int % 10**9))
            data["name"] = f"成都{tag}{i}号精密机械有限公司"
            data["tags"] = [f"mk{tag}", tier_tag]
            data["region"] = "四川"
            customers.append(p.customers.create_customer(data))
    return customers


def test_marketer_campaign_from_plan_to_evaluation(stack, browser, config):  # noqa: F811
    base, customers = stack
    marketer_campaign_day(browser, base, config, customers, TAG)


def marketer_campaign_day(browser, base, config, customers, tag,  # noqa: F811
                          shots="marketing"):
    """The marketer mk1's campaign on the marketing gateway at ``base``: ``customers``
    are three customers in 四川 tagged mk``tag`` (the first two 老客户, the third 新客户),
    their names 成都``tag``0号…; screenshots ``shots``-*.png; returns the campaign id.
    Also used on `crm run` + `crm demo` (test_desk_marketing_make_run.py)."""
    sign_in(browser, base, config, "mk1", next_path="/app/campaigns")
    browser.get(f"{base}/app/campaigns/new")
    start = (dt.datetime.now(SHANGHAI) + dt.timedelta(days=10)).replace(
        hour=14, minute=0, second=0, microsecond=0)
    fill(browser, {"f-theme": f"2027 智能制造客户沙龙 {tag}",
                   "f-goal": "面向老客户介绍新一代伺服产品，收集升级需求。",
                   "f-location": "成都·天府国际会议中心 3F", "f-budget": "50000.00",
                   "f-audience-tags_all": f"mk{tag}, 老客户", "f-audience-region": "四川"})
    Select(by_id(browser, "f-format")).select_by_value("salon")
    # the live count (script) as the rules change: two customers carry both tags
    wait_for(browser, lambda d: by_id(d, "audience-count").get_attribute("data-count") == "2")
    assert "2" in by_id(browser, "audience-count").text
    set_value(browser, "f-starts_at", start.strftime("%Y-%m-%dT%H:%M"))
    set_value(browser, "f-ends_at", (start - dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    fill(browser, {"f-milestones-0-title": "发出邀请函", "f-milestones-1-title": "确认场地与物料"})
    Select(by_id(browser, "f-milestones-0-owner_id")).select_by_visible_text("赵磊")  # mk1
    Select(by_id(browser, "f-milestones-1-owner_id")).select_by_visible_text("黄丽")  # mk2
    set_value(browser, "f-milestones-0-due_date", (start - dt.timedelta(days=7)).date().isoformat())
    set_value(browser, "f-milestones-1-due_date", (start - dt.timedelta(days=2)).date().isoformat())
    screenshot(browser, f"{shots}-form")
    by_id(browser, "save-campaign").click()  # ends before it starts: refused at the field
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".error-summary"))
    assert browser.find_elements(By.CSS_SELECTOR, "#f-ends_at[aria-invalid='true']")
    assert by_id(browser, "f-theme").get_attribute("value") == f"2027 智能制造客户沙龙 {tag}"
    screenshot(browser, f"{shots}-form-error")
    assert "结束时间须晚于开始时间" in text_of(browser, "error-summary")
    set_value(browser, "f-ends_at", (start + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    by_id(browser, "save-campaign").click()
    wait_for(browser, lambda d: "活动已创建" in body(d))
    campaign_id = int(browser.current_url.split("/app/campaigns/")[1].split("#")[0])
    assert text_of(browser, "state") == "草稿"

    click_in(browser, "#lifecycle", "排期")
    wait_for(browser, lambda d: "已排期" in text_of(d, "state"))
    click_in(browser, "#lifecycle", "启动活动")
    wait_for(browser, lambda d: "进行中" in text_of(d, "state"))
    assert "2" in body(browser)  # the audience fixed at launch

    # a customer found by name, and a new contact
    fill(browser, {"f-customer_q": f"成都{tag}0号"})
    by_id(browser, "find-customer").click()
    wait_for(browser, lambda d: customers[0]["name"] in body(d))
    fill(browser, {"f-need": "伺服电机升级"})
    browser.find_element(By.CSS_SELECTOR, "#form-register-customer button[type=submit]").click()
    wait_for(browser, lambda d: "已登记" in body(d))
    fill(browser, {"f-contact-name": "何敏", "f-contact-company": f"绵阳{tag}自动化有限公司",
                   "f-contact-mobile": "13688889999"})
    browser.find_element(By.CSS_SELECTOR, "#form-register-contact button[type=submit]").click()
    wait_for(browser, lambda d: "已登记" in body(d) and f"绵阳{tag}" in body(d))
    rows = browser.find_elements(By.CSS_SELECTOR, "#participant-table tbody tr")
    assert len(rows) == 2
    first, second = (r.get_attribute("id").split("-")[1] for r in rows)

    click_in(browser, f"#participant-{first}", "签到")
    wait_for(browser, lambda d: "已签到" in text_of(d, f"participant-{first}"))
    Select(by_id(browser, f"f-score_{first}")).select_by_value("5")
    fill(browser, {f"f-comment_{first}": "产品演示很有帮助"})
    click_in(browser, f"#participant-{first}", "记录反馈")
    wait_for(browser, lambda d: "反馈已记录" in body(d))
    click_in(browser, f"#participant-{first}", "生成线索")
    wait_for(browser, lambda d: "已转销售" in text_of(d, f"participant-{first}"))
    click_in(browser, f"#participant-{second}", "签到")
    wait_for(browser, lambda d: "已签到" in text_of(d, f"participant-{second}"))

    browser.find_element(By.CSS_SELECTOR, "#milestone-table tbody tr button").click()
    wait_for(browser, lambda d: "节点已完成" in body(d))
    statuses = [r.get_attribute("data-status")
                for r in browser.find_elements(By.CSS_SELECTOR, "#milestone-table tbody tr")]
    assert statuses == ["done", "open"]
    screenshot(browser, f"{shots}-campaign-running")

    fill(browser, {"f-cost": "12000"})  # the actual cost goes in with 结束活动 (the ROI's)
    click_in(browser, "#lifecycle", "结束活动")
    wait_for(browser, lambda d: "已结束" in text_of(d, "state"))
    figures = {f.get_attribute("data-key"): f.find_element(By.CLASS_NAME, "figure__value").text
               for f in browser.find_elements(By.CSS_SELECTOR, "#figures .figure")}
    assert figures["participants"] == "2" and figures["attended"] == "2"
    assert figures["attendance_rate"] == "100.0%" and figures["leads_generated"] == "1"
    assert figures["feedback_average"] == "5.0"
    assert figures["cost"] == "12,000.00" and figures["roi"] == "-100.0%"  # nothing won yet
    assert browser.find_elements(By.CSS_SELECTOR, "#chart svg")
    screenshot(browser, f"{shots}-evaluation")

    status, ctype, raw = fetch(browser, f"{base}/app/campaigns/{campaign_id}/participants.csv")
    assert status == 200 and ctype.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert {r["company"] for r in rows} == {customers[0]["name"], f"绵阳{tag}自动化有限公司"}
    assert {r["attended"] for r in rows} == {"True"}
    status, ctype, raw = fetch(browser, f"{base}/app/campaigns/{campaign_id}/evaluation.xlsx")
    assert status == 200 and "spreadsheetml" in ctype
    sheet = load_workbook(io.BytesIO(raw)).active
    values = {r[0]: r[2] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert values["participants"] == 2 and values["leads_generated"] == 1

    browser.get(f"{base}/app/campaigns?state=completed")
    assert by_id(browser, f"campaign-{campaign_id}")
    screenshot(browser, f"{shots}-list")
    return campaign_id
