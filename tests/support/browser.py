"""Headless Chromium for browser tests (Debian ``chromium`` + ``chromium-driver``,
installed by ``make test-deps``), driven by selenium.

    from tests.support.browser import browser, sign_in, screenshot  # noqa: F401

    def test_page(browser, start_gateway, config):
        base = start_gateway(SomeGateway)
        sign_in(browser, base, config, "u1")          # role/department from the directory
        browser.get(base + "/app/customers")
        screenshot(browser, "customers-list")        # -> var/screenshots/customers-list.png

A missing browser skips the test locally and FAILS under CI=true
(tests/support/infra.py ``unavailable``). The gateway may run in-process: the
driver's HTTP calls go through eventlet's green sockets, so the hub keeps serving.
"""
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from services.common.auth import mint_token
from services.common.config import ROOT
from services.common.web.directory import dev_user
from tests.support.infra import unavailable

CHROMIUM = os.environ.get("CRM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = (os.environ.get("CRM_CHROMEDRIVER") or shutil.which("chromedriver")
                or "/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--lang=zh-CN")
SCREENSHOTS = ROOT / "var" / "screenshots"
WINDOW = (1280, 900)


def make_driver(window=WINDOW):
    """A fresh headless Chrome (own profile dir); the caller quits it."""
    for path, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            unavailable("headless Chromium", f"{path} missing: apt-get install -y {pkg} "
                        "(or `make test-deps`)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        unavailable("selenium", f"{exc} (pip install -e '.[test]')")
    profile = tempfile.mkdtemp(prefix="crm-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.crm_profile = profile
    return driver


def quit_driver(driver):
    try:
        driver.quit()
    finally:
        shutil.rmtree(getattr(driver, "crm_profile", ""), ignore_errors=True)


@pytest.fixture
def browser():
    """A selenium Chrome driver on Debian's chromium (headless), quit after the test."""
    driver = make_driver()
    yield driver
    quit_driver(driver)


@pytest.fixture
def browser_factory():
    """browser_factory() -> another independent driver (two sessions in one test)."""
    drivers = []

    def make():
        drivers.append(make_driver())
        return drivers[-1]

    yield make
    for d in drivers:
        quit_driver(d)


def mint(config, user, role=None, department=None, ttl_minutes=60):
    entry = dev_user(user) or {}
    return mint_token(config, user, role or entry.get("role", "staff"),
                      department or entry.get("department", "sales"), ttl_minutes=ttl_minutes)


def sign_in(driver, base, config, user="u1", role=None, department=None, next_path=None):
    """Sign in through the /login page with a freshly minted token; returns the token."""
    from selenium.webdriver.common.by import By
    token = mint(config, user, role, department)
    url = f"{base}/login" + (f"?next={next_path}" if next_path else "")
    driver.get(url)
    box = driver.find_element(By.ID, "f-token")
    box.clear()
    box.send_keys(token)
    driver.find_element(By.ID, "sign-in").click()
    wait_for(driver, lambda d: "/login" not in d.current_url)
    return token


def sign_out(driver):
    from selenium.webdriver.common.by import By
    driver.find_element(By.ID, "sign-out").click()
    wait_for(driver, lambda d: "/login" in d.current_url)


def by_id(driver, element_id):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.ID, element_id)


def body(driver):
    """The page's text (by script: never a stale element while a page loads)."""
    return driver.execute_script("return document.body ? document.body.innerText : ''")


def fill(driver, values):
    """Type ``{element id: text}`` into the page's fields, each cleared first."""
    for element_id, value in values.items():
        box = by_id(driver, element_id)
        box.clear()
        box.send_keys(value)


def fetch(driver, url):
    """GET ``url`` with the page's session (cookies) -> (status, content type, bytes)."""
    import base64
    got = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {credentials: 'same-origin'}).then(async r => {
            const buf = new Uint8Array(await r.arrayBuffer());
            let s = ''; for (const b of buf) s += String.fromCharCode(b);
            done([r.status, r.headers.get('content-type'), btoa(s)]);
        }).catch(e => done([0, String(e), '']));""", url)
    return got[0], got[1], base64.b64decode(got[2])


def wait_for(driver, condition, timeout=20):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(condition)


def screenshot(driver, name, full_page=True):
    """Save var/screenshots/<name>.png (the whole page height) and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if full_page:
        height = driver.execute_script(
            "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
        width = driver.get_window_size()["width"]
        driver.set_window_size(width, min(max(int(height) + 120, WINDOW[1]), 6000))
    driver.save_screenshot(str(path))
    if full_page:
        driver.set_window_size(*WINDOW)
    return path
