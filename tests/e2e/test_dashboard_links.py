"""A manager's dashboard in headless Chromium, on the five workspaces started
in-process with ``make demo``'s data (back-dated history included): the page is in
zh-CN with no English headers or ticket kinds in what a person sees; every tile and
table row link leads to a page of the right workspace that answers 200 (followed in
the browser and checked over HTTP); the funnel's axis starts at 0; top and bottom 5
never share an employee and hold no manager; freshness is measured from publish
time (seconds, not the months of the back-dated events). Staff see their own
scorecard (month / quarter / year) and get 403 for anyone else's.
Screenshots: var/screenshots/dashboard-*.png (the main one copied to docs/screenshots/)."""
import os
import re
import shutil
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from selenium.webdriver.common.by import By

from services.common.cli.demo import demo_customers
from services.common.config import ROOT
from services.common.errors import Conflict
from services.customers.gateway import CustomersGateway
from services.customers.service import CustomersService
from services.marketing.demo import demo_campaigns
from services.marketing.gateway import MarketingGateway
from services.marketing.service import MarketingService
from services.reporting.gateway import ReportingGateway
from services.reporting.service import ReportingService
from services.sales.demo import demo_pipeline
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from services.service_desk.demo import demo_desk
from services.service_desk.gateway import ServiceDeskGateway
from services.service_desk.service import ServiceDeskService
from tests.support.browser import (  # noqa: F401 (fixtures)
    body,
    browser,
    browser_factory,
    screenshot,
    sign_in,
    wait_for,
)
from tests.support.fixtures import actor, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
MANAGER = actor("m1", "manager", "management")
# what may stay Latin in the visible zh-CN page: the language link, the time zone,
# the percentile's name, and ids/periods (digits)
LATIN_OK = {"English", "Asia", "Shanghai", "P95"}
OLD_ENGLISH = ("participants", "converted", "leads", "cost", "ROI", "inquiry", "complaint",
               "suggestion", "Source", "Won", "Leads", "Opportunities", "Employee", "Score")


def docs_copy(shot, name):
    """Refresh docs/screenshots/NAME.png from this run's var/screenshots/SHOT.png only
    when asked (CRM_DOCS_SCREENSHOTS=1): a plain test run leaves tracked files alone."""
    if os.environ.get("CRM_DOCS_SCREENSHOTS") == "1":
        shutil.copy(ROOT / "var" / "screenshots" / f"{shot}.png",
                    ROOT / "docs" / "screenshots" / f"{name}.png")


def until(predicate, timeout=90, every=0.5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


@pytest.fixture
def system(start_service, config, rpc):
    """Four workspaces and the dashboard, each gateway on its own port, and the
    dashboard configured with their URLs (as WORKSPACE_URLS / CRM_PORT_OFFSET do)."""
    bases = {}
    for svc, service_cls, gateway_cls in (
            ("customers", CustomersService, CustomersGateway),
            ("sales", SalesService, SalesGateway),
            ("service_desk", ServiceDeskService, ServiceDeskGateway),
            ("marketing", MarketingService, MarketingGateway)):
        start_service(service_cls)
        port = free_port()
        start_service(gateway_cls, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
        bases[svc] = f"http://127.0.0.1:{port}"
    start_service(ReportingService)
    port = free_port()
    bases["reporting"] = f"http://127.0.0.1:{port}"
    start_service(ReportingGateway, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
                  WORKSPACE_URLS={svc: url + "/" for svc, url in bases.items()})
    # `make demo`: customers, then each department's demo data through its public RPC
    ids, team = [], ["u1", "u2", "u3"]
    with rpc(timeout=60) as p:
        for data in demo_customers(8, team, seed=uuid.uuid4().int % 10 ** 9):
            try:
                ids.append(p.customers.create_customer(data)["id"])
            except Conflict:
                pass
        time.sleep(3)  # the departments' customer copies fill from customers' events
        demo_pipeline(p, ids, team)
        demo_desk(p, ids)
        demo_campaigns(p, ids)
    DEMO_CUSTOMERS.update(ids)
    with rpc(MANAGER) as p:
        # a manager who follows a lead himself: the events show him working in sales
        p.sales.create_lead({"source": "phone", "customer_name": "经理亲自跟进的客户有限公司",
                             "owner_id": "m1"})
        until(lambda: "m1" in {s["employee_id"] for s in p.reporting.list_staff("sales")})

        def settled():
            first = p.reporting.freshness()["events_applied"]
            time.sleep(2)
            second = p.reporting.freshness()["events_applied"]
            return second if second == first and second > 0 else None
        until(settled, timeout=120)
    return bases


# the customers made here: the session's other tests publish customer events of their own
# to the same bus, so reporting's churn watch list may name customers this customers
# database never held (their detail page is rightly "not found or not yours")
DEMO_CUSTOMERS = set()


def foreign_customer(href):
    to = parse_qs(urlsplit(href).query).get("to", [""])[0]
    m = re.fullmatch(r"/app/customers/([0-9]+)", to)
    return bool(m) and int(m.group(1)) not in DEMO_CUSTOMERS


def workspace_of(href, bases):
    """The base URL a dashboard link should land on."""
    parts = urlsplit(href)
    if parts.path.startswith("/app/open/"):
        return bases[parts.path.rsplit("/", 1)[1]], parse_qs(parts.query)["to"][0]
    return bases["reporting"], parts.path + (f"?{parts.query}" if parts.query else "")


def test_manager_clicks_from_the_dashboard_into_each_list(system, browser, config,  # noqa: F811
                                                          rpc):
    manager_clicks_into_each_list(browser, config, system, skip=foreign_customer)


def manager_clicks_into_each_list(browser, config, bases, skip=lambda href: False,  # noqa: F811
                                  shots="dashboard", docs=True):
    """The manager m1 on the dashboard at ``bases["reporting"]``: zh-CN labels, the
    funnel from 0, top/bottom 5, freshness in seconds; every tile and row link (but
    those ``skip`` names) answers 200 on the right workspace of ``bases``; one click per
    workspace in the browser; the English page. Screenshots ``shots``-*.png (copied to
    docs/screenshots only if ``docs`` and CRM_DOCS_SCREENSHOTS=1). Returns
    {link: the URL it landed on}. Also used on `crm run` + `crm demo`
    (test_desk_marketing_make_run.py)."""
    dash = bases["reporting"]
    token = sign_in(browser, dash, config, "m1", next_path="/dashboard")
    wait_for(browser, lambda d: d.find_elements(By.ID, "kpis"))
    text = body(browser)
    assert "经营看板" in text and "关键指标" in text and "新增工单 · 投诉" in text
    # the check is on UI labels, not data: names of customers, staff and campaigns are data
    # (demo names come from Faker's zh_CN companies, one of which is "MBP软件…"; other tests'
    # staff ids carry hex tags), and the page marks every data cell translate="no"
    labels = text
    for cell in browser.find_elements(By.CSS_SELECTOR, '[translate="no"]'):
        if cell.text:
            labels = labels.replace(cell.text, "")
    latin = set(re.findall(r"[A-Za-z]{3,}", labels)) - LATIN_OK
    assert not latin, f"English words in the zh-CN dashboard: {sorted(latin)}"
    for word in OLD_ENGLISH:
        assert not re.search(rf"\b{word}\b", text), word
    # the funnel's axis: counts from 0, no negative tick (pygal's Funnel showed −10 … 10)
    ticks = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#chart-funnel .axis text")]
    assert ticks and "0" in ticks and not [t for t in ticks if t.startswith(("-", "−"))], ticks
    # top and bottom 5: staff of the department only (no manager), never both
    for role in ("sales", "service"):
        top = [r.get_attribute("data-employee") for r in browser.find_elements(
            By.CSS_SELECTOR, f"#top-scorecards-{role} tr[data-employee]")]
        bottom = [r.get_attribute("data-employee") for r in browser.find_elements(
            By.CSS_SELECTOR, f"#bottom-scorecards-{role} tr[data-employee]")]
        assert not set(top) & set(bottom), (role, top, bottom)
        assert "m1" not in top + bottom
    assert browser.find_elements(By.CSS_SELECTOR, "#top-scorecards-sales tr[data-employee]")
    # freshness after the demo's back-dated events: seconds, not months
    p95 = browser.find_element(By.ID, "lag-p95").text
    assert re.fullmatch(r"[0-9]+\.[0-9]{2} 秒", p95) and float(p95.split()[0]) < 60, p95
    screenshot(browser, f"{shots}-manager")
    if docs:
        docs_copy(f"{shots}-manager", "dashboard")

    # every tile and row link: the right workspace, a page answering 200
    links = []
    for selector in ("a.tile-link", "#chart-funnel a", "#campaigns tbody a", "#channels a",
                     "#scorecards tbody a", "#watchlist tbody a"):
        found = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR,
                                                                        selector)]
        assert found, f"no links under {selector}"
        links += found
    tiles = browser.find_elements(By.CSS_SELECTOR, "a.tile-link")
    assert len(tiles) == len(browser.find_elements(By.CSS_SELECTOR, ".tile"))
    session = requests.Session()
    session.cookies.set("crm_token", token)
    checked = {}
    for href in dict.fromkeys(links):
        if skip(href):
            continue
        base, path = workspace_of(href, bases)
        r = session.get(href, timeout=30, headers={"Accept": "text/html"})
        assert r.status_code == 200, (href, r.status_code)
        assert r.url == base + path, (href, r.url)
        assert 'id="error-home"' not in r.text, href
        checked[href] = r.url
    # and in the browser, a click on one link per workspace (cookie shared by the host)
    for name, selector in (("customers", "#watchlist tbody a"),
                           ("sales", "a.tile-link[data-kpi-link=sales_amount]"),
                           ("service_desk", "a.tile-link[data-kpi-link='tickets_new_by_kind."
                                            "complaint']"),
                           ("marketing", "#campaigns tbody a"),
                           ("reporting", "#top-scorecards-sales tbody td a")):
        browser.get(dash + "/dashboard")
        link = next(a for a in browser.find_elements(By.CSS_SELECTOR, selector)
                    if not skip(a.get_attribute("href")))
        target = checked[link.get_attribute("href")]
        link.click()
        wait_for(browser, lambda d, target=target: d.current_url == target)
        assert not browser.find_elements(By.ID, "error-home"), (name, target)
        assert "/login" not in browser.current_url
        screenshot(browser, f"{shots}-into-{name}")
    # the complaint tile's list shows complaints only, the manager's whole queue
    assert "kind=complaint" in checked[[h for h in checked if "kind%3Dcomplaint" in h][0]]
    assert len(checked) >= 30, len(checked)
    # the same page in English (the kit's language link, remembered in a cookie)
    browser.get(dash + "/dashboard?lang=en")
    text = body(browser)
    assert "Management dashboard" in text and "New tickets · Complaint" in text
    words = [e.text for e in browser.find_elements(
        By.CSS_SELECTOR, "main th, main h1, main h2, main h3, .tile .label")]
    assert words and not [w for w in words if re.search(r"[\u4e00-\u9fff]", w)], words
    screenshot(browser, f"{shots}-manager-en")
    browser.get(dash + "/dashboard?lang=zh_CN")
    return checked


def test_staff_see_their_own_scorecard_only(system, browser, config):  # noqa: F811
    bases = system
    dash = bases["reporting"]
    token = sign_in(browser, dash, config, "u1", next_path="/app/scorecard")
    wait_for(browser, lambda d: d.find_elements(By.ID, "scorecard-month"))
    text = body(browser)
    assert "我的绩效" in text and "本月" in text and "本季度" in text and "本年度" in text
    sections = browser.find_elements(By.CSS_SELECTOR, "section.scorecard")
    periods = [s.get_attribute("data-period") for s in sections]
    assert [re.fullmatch(p, v) is not None for p, v in zip(
        (r"\d{4}-\d{2}", r"\d{4}-Q[1-4]", r"\d{4}"), periods, strict=True)] == [True] * 3
    assert {s.get_attribute("data-employee") for s in sections} == {"u1"}
    kpis = [r.get_attribute("data-kpi") for r in browser.find_elements(
        By.CSS_SELECTOR, "#scorecard-month tr[data-kpi]")]
    assert kpis == ["sales_amount", "opportunity_win_rate", "lead_conversion_rate",
                    "follow_up_completion_rate", "customer_info_completeness"]
    assert sections[0].get_attribute("data-score") != ""  # u1 owns demo business
    screenshot(browser, "dashboard-staff-scorecard")
    docs_copy("dashboard-staff-scorecard", "scorecard-staff")
    # someone else's: refused, in the page and over HTTP
    browser.get(dash + "/app/scorecards/u2")
    assert "无权操作" in body(browser)
    browser.get(dash + "/app/scorecard?employee_id=u2")
    assert "无权操作" in body(browser)
    cookies = {"crm_token": token}
    assert requests.get(dash + "/app/scorecards/u2", cookies=cookies,
                        timeout=20).status_code == 403
    assert requests.get(dash + "/dashboard", cookies=cookies, timeout=20,
                        headers={"Accept": "text/html"}).status_code == 403
    r = requests.get(dash + "/app/scorecards/u1", cookies=cookies, timeout=20)
    assert r.status_code == 200 and r.url.startswith(dash + "/app/scorecard?")
    # / of 8005 takes staff to their scorecard
    browser.get(dash + "/")
    wait_for(browser, lambda d: "/app/scorecard" in d.current_url)
    # the open-link hop never leaves for another host
    for bad in ("//evil.example/app/x", "https://evil.example/", "/login", "/app/../x\\y"):
        r = requests.get(dash + "/app/open/customers", params={"to": bad}, timeout=10,
                         allow_redirects=False)
        assert r.status_code == 404, bad
    assert requests.get(dash + "/app/open/nope", params={"to": "/app/x"}, timeout=10,
                        allow_redirects=False).status_code == 404
