"""The customers workspace in headless Chromium (Debian ``chromium`` + selenium), as a
salesperson uses it: sign in, a customer with a bad USCC (error next to the field,
nothing saved), then a good one; tag it, filter by tag, upload and download an
attachment, edit it from two sessions (the second gets the conflict page), export
the list, sign out. Screenshots of each page go to var/screenshots/customers-*.png.

The customers service and its gateway run in-process on the test bus (the kit's
browser harness); the pages are the ones ``make run`` serves on 8001."""
import csv
import io
import uuid

import pytest

from services.customers.gateway import CustomersGateway
from services.customers.service import CustomersService
from tests.support import data
from tests.support.browser import (  # noqa: F401 (fixtures)
    browser,
    browser_factory,
    by_id,
    fetch,
    fill,
    screenshot,
    sign_in,
    sign_out,
    wait_for,
)
from tests.support.fixtures import actor

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015, the 31 code characters
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def wrong_check(uscc):
    """The same code with another check character: GB 32100 admits exactly one."""
    other = next(ch for ch in USCC_ALPHABET if ch != uscc[-1])
    return uscc[:-1] + other


# crm_run: every service as a process on fixed ports (offset 400): run alone (serial)
@pytest.fixture(scope="module",
                params=["in_process", pytest.param("crm_run", marks=pytest.mark.serial)])
def base(request, config, amqp_uri, tmp_path_factory):
    """The workspace served in-process (the kit's harness), then by the stack as the
    README starts it (``crm run``, what ``make run`` runs; ports shifted by 400). Each
    is stopped before the other starts: both would consume the same RPC queue."""
    if request.param == "in_process":
        yield from in_process(config)
    else:
        yield from crm_run(amqp_uri, tmp_path_factory.mktemp("crm-run"))


def in_process(config):
    from nameko.containers import ServiceContainer

    from tests.support.fixtures import free_port
    port = free_port()
    containers = [ServiceContainer(CustomersService, dict(config)),
                  ServiceContainer(CustomersGateway,
                                   dict(config, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}"))]
    for container in containers:
        container.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for container in reversed(containers):
            container.stop()


def crm_run(amqp_uri, tmp):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    import requests
    env = dict(os.environ, AMQP_URI=amqp_uri, CRM_VAR_DIR=str(tmp / "var"),
               PYTHONUNBUFFERED="1", CRM_PORT_OFFSET="400")
    for svc in ("CUSTOMERS", "SALES", "SERVICE_DESK", "MARKETING", "REPORTING"):
        env[f"{svc}_DATABASE_URL"] = f"sqlite:///{tmp}/{svc.lower()}.db"
    log = open(tmp / "run.log", "w+")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "crm"), "run"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = "http://127.0.0.1:8401"
    try:
        deadline = time.time() + 180
        while True:
            try:
                if requests.get(base + "/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None and time.time() < deadline, \
                (tmp / "run.log").read_text()[-3000:]
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_a_salesperson_day_in_the_customers_workspace(base, config, browser,  # noqa: F811
                                                     browser_factory, rpc, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    browser.set_script_timeout(60)
    suffix = "" if base != "http://127.0.0.1:8401" else "-crm-run"

    def shot(name):
        screenshot(browser, name + suffix)
    user = f"e2e-{uuid.uuid4().hex[:6]}"
    sign_in(browser, base, config, user, "staff", "sales")
    assert browser.current_url.startswith(base + "/app/customers")
    shot("customers-list-empty")

    # a bad USCC: the error sits next to the field, the values stay, nothing is saved
    name = f"北京浏览器测试科技有限公司{uuid.uuid4().hex[:4]}"
    good = data.uscc()
    browser.get(base + "/app/customers/new")
    fill(browser, {"f-name": name, "f-uscc": wrong_check(good), "f-industry": "专用设备制造业",
                   "f-region": "北京", "f-annual_budget": "50",
                   "f-needs": "需要一套客户管理系统",
                   "f-contacts-0-name": "张三", "f-contacts-0-title": "采购经理",
                   "f-contacts-0-mobile": "13800138000",
                   "f-contacts-0-email": "zhang@example.cn"})
    by_id(browser, "f-primary-0").click()
    by_id(browser, "save").click()
    error = wait_for(browser, lambda d: d.find_element(By.ID, "f-uscc-error-1"))
    field = error.find_element(By.XPATH, "..")
    assert "field--error" in field.get_attribute("class")
    assert by_id(browser, "f-uscc").get_attribute("value") == wrong_check(good)
    assert by_id(browser, "f-name").get_attribute("value") == name
    shot("customers-form-errors")
    with rpc(actor(user)) as p:
        assert p.customers.list_customers({"q": name})["total"] == 0

    # the good USCC: saved, the detail page
    fill(browser, {"f-uscc": good})
    by_id(browser, "save").click()
    wait_for(browser, lambda d: "/edit" not in d.current_url and "/new" not in d.current_url)
    customer_id = int(browser.current_url.rstrip("/").split("/")[-1].split("?")[0])
    assert name in by_id(browser, "main").text
    with rpc(actor(user)) as p:
        saved = p.customers.get_customer(customer_id)
    assert saved["uscc"] == good and saved["industry_code"] == "C35"
    assert saved["annual_budget"] == "50.00"
    assert saved["contacts"][0]["mobile"] == "13800138000"

    # tag it, then filter the list by the tag
    tag = f"浏览器{uuid.uuid4().hex[:4]}"
    fill(browser, {"f-tags": tag})
    by_id(browser, "add-tags").click()
    wait_for(browser, lambda d: "标签已添加" in d.page_source and tag in d.page_source)
    browser.get(base + "/app/customers?tags=" + tag)
    rows = browser.find_elements(By.CSS_SELECTOR, "#customers tbody tr[data-id]")
    assert [r.get_attribute("data-id") for r in rows] == [str(customer_id)]
    shot("customers-list")

    # upload a PDF and download it again
    browser.get(f"{base}/app/customers/{customer_id}")
    pdf = tmp_path / "营业执照.pdf"
    pdf.write_bytes(PDF)
    by_id(browser, "f-file").send_keys(str(pdf))
    by_id(browser, "upload").click()
    wait_for(browser, lambda d: "附件已上传" in d.page_source)
    link = browser.find_element(By.CSS_SELECTOR, "#attachments a")
    assert link.text == "营业执照.pdf"
    status, ctype, body = fetch(browser, link.get_attribute("href"))
    assert (status, ctype, body) == (200, "application/pdf", PDF)
    shot("customers-detail")

    # two sessions edit it: the second save gets the conflict page, nothing of it lands
    other = browser_factory()
    sign_in(other, base, config, user, "staff", "sales")
    browser.get(f"{base}/app/customers/{customer_id}/edit")
    other.get(f"{base}/app/customers/{customer_id}/edit")
    shot("customers-edit")
    fill(other, {"f-region": "上海"})
    by_id(other, "save").click()
    wait_for(other, lambda d: d.current_url.endswith(f"/app/customers/{customer_id}"))
    fill(browser, {"f-region": "广州"})
    by_id(browser, "save").click()
    wait_for(browser, lambda d: "记录已被修改" in d.page_source)
    assert "记录已被修改" in browser.find_element(By.TAG_NAME, "h1").text
    shot("customers-conflict")
    with rpc(actor(user)) as p:
        assert p.customers.get_customer(customer_id)["region"] == "上海"

    # export the filtered list
    browser.get(base + "/app/customers?tags=" + tag)
    status, ctype, body = fetch(browser, by_id(browser, "export-csv").get_attribute("href"))
    assert status == 200 and ctype.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [(r["name"], r["uscc"], r["tags"]) for r in rows] == [(name, good, tag)]
    status, ctype, body = fetch(browser, by_id(browser, "export-xlsx").get_attribute("href"))
    assert status == 200 and body[:2] == b"PK"

    browser.get(base + "/app/customers/import")
    shot("customers-import")
    sign_out(browser)
    assert "/login" in browser.current_url
    shot("customers-signed-out")
    browser.get(base + "/app/customers")
    assert "/login" in browser.current_url  # the session is gone


def test_duplicate_warning_then_a_manager_merges_and_the_old_link_follows(
        base, config, browser, browser_factory, rpc):  # noqa: F811
    """Staff save a customer that looks like one they have: the warning lists it with a
    link; a manager merges the new record into the old one after the confirm page; the
    merged record's URL then opens the kept customer with a note."""
    from selenium.webdriver.common.by import By
    suffix = "" if base != "http://127.0.0.1:8401" else "-crm-run"
    tag = uuid.uuid4().hex[:4]
    user = f"e2e-d-{uuid.uuid4().hex[:6]}"
    with rpc(actor(user)) as p:
        first = p.customers.create_customer(data.customer(name=f"上海蓝天{tag}科技有限公司"))
    sign_in(browser, base, config, user, "staff", "sales")
    browser.get(base + "/app/customers/new")
    second_uscc = data.uscc()
    fill(browser, {"f-name": f"上海蓝天{tag}科技有限责任公司", "f-uscc": second_uscc,
                   "f-industry": "C35", "f-region": "上海",
                   "f-contacts-0-name": "李四", "f-contacts-0-title": "经理",
                   "f-contacts-0-mobile": f"135{uuid.uuid4().int % 10 ** 8:08d}"})
    by_id(browser, "f-primary-0").click()
    by_id(browser, "save").click()
    details = wait_for(browser, lambda d: d.find_element(By.ID, "flash-details"))
    link = details.find_element(By.TAG_NAME, "a")
    assert link.get_attribute("href").endswith(f"/app/customers/{first['id']}")
    assert link.text == f"#{first['id']} 上海蓝天{tag}科技有限公司（名称相同）"
    second_id = int(browser.current_url.rstrip("/").split("/")[-1].split("?")[0])
    screenshot(browser, "customers-duplicate-warning" + suffix)
    assert not browser.find_elements(By.ID, "merge-form")  # staff: no merge form

    manager = browser_factory()
    sign_in(manager, base, config, f"e2e-m-{uuid.uuid4().hex[:4]}", "manager", "management")
    manager.get(f"{base}/app/customers/{first['id']}")
    fill(manager, {"f-merge_id": second_uscc})
    by_id(manager, "merge-check").click()
    wait_for(manager, lambda d: d.find_element(By.ID, "merge-confirm"))
    assert f"上海蓝天{tag}科技有限责任公司" in by_id(manager, "merge-other").text
    assert f"上海蓝天{tag}科技有限公司" in by_id(manager, "merge-keep").text
    screenshot(manager, "customers-merge-confirm" + suffix)
    by_id(manager, "merge-confirm").click()
    wait_for(manager, lambda d: "合并到此客户" in d.find_element(By.ID, "flash").text)
    screenshot(manager, "customers-merged" + suffix)

    browser.get(f"{base}/app/customers/{second_id}")
    wait_for(browser, lambda d: d.current_url.split("?")[0].endswith(
        f"/app/customers/{first['id']}"))
    assert f"客户 #{second_id} 已合并到客户 #{first['id']}" in by_id(browser, "flash").text
    screenshot(browser, "customers-merged-redirect" + suffix)
