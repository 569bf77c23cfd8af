"""The page kit on a real gateway and broker: sign-in cookie flags, expired/invalid
tokens answered with the login page (never JSON), CSRF refused with nothing written,
/docs and /static offline, error pages without internals, JSON routes unchanged."""
import datetime as dt
import re
import uuid

import jwt
import pytest
import requests

from services.common.auth import mint_token
from services.common.gateway import GatewayBase, rpc
from services.common.web import Form, page, page_context, redirect, render
from services.customers.gateway import CustomersGateway
from services.customers.service import CustomersService
from tests.support import data
from tests.support.web_session import csrf_of

pytestmark = pytest.mark.integration
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


class WebProbeGateway(GatewayBase):
    """A tiny workspace on the kit: one page that writes (create a customer)."""

    name = "web_probe_gateway"
    customers = rpc("customers")

    @page("POST", "/app/probe/customers")
    def create(self, request):
        created = self.call(self.customers, "create_customer", Form(request).nested())
        return redirect(f"/app/probe/customers/{created['id']}", flash="saved",
                        kind="success")

    @page("GET", "/app/probe/customers/<int:customer_id>")
    def show(self, request, customer_id):
        c = self.call(self.customers, "get_customer", customer_id)
        return render("kit/home.html", page_title=c["name"],
                      breadcrumbs=[("probe", "/app"), (c["name"], None)])

    @page("GET", "/app/probe/boom")
    def boom(self, request):
        raise RuntimeError("secret internals /etc/passwd")

    @page("GET", "/app/probe/lang")
    def lang(self, request):
        return render("kit/home.html", page_title=page_context(request).t("login.title"))


@pytest.fixture(scope="module")
def gateways(module_services, config):
    from tests.support.fixtures import free_port
    module_services(CustomersService)
    bases = {}
    for cls in (CustomersGateway, WebProbeGateway):
        port = free_port()
        module_services(cls, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
        bases[cls.name] = f"http://127.0.0.1:{port}"
    return bases


@pytest.fixture(scope="module")
def base(gateways):
    return gateways["customers_gateway"]


@pytest.fixture(scope="module")
def probe(gateways):
    return gateways["web_probe_gateway"]


def set_cookies(r):
    return r.raw.headers.getlist("Set-Cookie")


def cookie_line(r, name):
    lines = [c for c in set_cookies(r) if c.startswith(name + "=")]
    assert lines, set_cookies(r)
    return lines[-1]


def sign_in(base, config, user="u1", role="staff", department="sales", headers=None):
    s = requests.Session()
    page_ = s.get(f"{base}/login", headers=HTML, timeout=10)
    token = mint_token(config, user, role, department)
    r = s.post(f"{base}/login", data={"token": token, "csrf_token": csrf_of(page_.text),
                                      "next": "/app"},
               headers=dict(HTML, **(headers or {})), allow_redirects=False, timeout=10)
    assert r.status_code == 303, r.text[:300]
    return s, r, token


def no_internals(text):
    assert "Traceback" not in text and "secret internals" not in text
    assert "/etc/passwd" not in text and 'File "' not in text


def test_login_page_says_how_and_sets_cookie_flags(base, config):
    r = requests.get(f"{base}/login", headers=HTML, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "crm token --user u1" in r.text and 'lang="zh-CN"' in r.text
    assert "HttpOnly" in cookie_line(r, "crm_login")
    s, r, token = sign_in(base, config)
    assert r.headers["Location"] == "/app"
    line = cookie_line(r, "crm_token")
    assert line.startswith(f"crm_token={token};")
    assert "HttpOnly" in line and "SameSite=Strict" in line and "Path=/" in line
    assert "Secure" not in line and "Max-Age=" in line
    # https behind a proxy: the cookie is Secure
    _, r, _ = sign_in(base, config, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in cookie_line(r, "crm_token")
    home = s.get(f"{base}/app", headers=HTML, timeout=10)
    assert home.status_code == 200 and "王芳" in home.text  # u1's name from the directory
    assert "退出登录" in home.text and "客户管理" in home.text and "经营看板" not in home.text
    assert not re.search(r'(src|href)="(https?:)?//', home.text)  # nothing absolute
    r = s.get(f"{base}/go/sales", headers=HTML, allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"] == "http://127.0.0.1:8002/"
    r = s.get(f"{base}/go/nope", headers=HTML, allow_redirects=False, timeout=10)
    assert r.status_code == 404


def test_login_refuses_bad_tokens_with_the_page(base, config):
    s = requests.Session()
    csrf = csrf_of(s.get(f"{base}/login", headers=HTML, timeout=10).text)
    for token, text in (("", "请输入访问令牌"), ("not.a.jwt", "令牌无效"),
                        (expired_token(config), "令牌已过期")):
        r = s.post(f"{base}/login", data={"token": token, "csrf_token": csrf}, headers=HTML,
                   allow_redirects=False, timeout=10)
        assert r.status_code in (401, 422) and r.headers["Content-Type"].startswith("text/html")
        assert text in r.text and "crm_token=" not in " ".join(set_cookies(r))
        assert "not.a.jwt" not in r.text  # a token is never echoed back
    # the sign-in form itself needs its CSRF token
    r = s.post(f"{base}/login", data={"token": mint_token(config, "u1", "staff", "sales")},
               headers=HTML, allow_redirects=False, timeout=10)
    assert r.status_code == 403 and "crm_token=" not in " ".join(set_cookies(r))


def expired_token(config):
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3)
    return jwt.encode({"sub": "u1", "roles": ["staff"], "department": "sales", "iat": past,
                       "exp": past + dt.timedelta(minutes=5), "iss": "kehu-crm",
                       "aud": "kehu-crm"}, config["JWT"]["key"], algorithm="HS256")


@pytest.mark.parametrize("cookie,reason,text", [
    (None, "signin", "请先登录"), ("expired", "expired", "登录已过期"),
    ("garbage", "invalid", "令牌无效")])
def test_expired_or_invalid_session_goes_to_the_login_page(base, config, cookie, reason, text):
    cookies = {}
    if cookie == "expired":
        cookies["crm_token"] = expired_token(config)
    elif cookie == "garbage":
        cookies["crm_token"] = "not.a.jwt"
    r = requests.get(f"{base}/app?x=1", headers=HTML, cookies=cookies, allow_redirects=False,
                     timeout=10)
    assert r.status_code == 303
    assert r.headers["Location"] == f"/login?reason={reason}&next=%2Fapp%3Fx%3D1"
    if cookie:  # the bad cookie is dropped
        assert re.search(r"crm_token=\"?\"?;.*(Max-Age=0|expires=Thu, 01 Jan 1970)",
                         cookie_line(r, "crm_token"))
    page_ = requests.get(base + r.headers["Location"], headers=HTML, timeout=10)
    assert page_.status_code == 200 and text in page_.text
    assert 'name="next" value="/app?x=1"' in page_.text


def test_post_without_csrf_is_refused_and_writes_nothing(probe, config, rpc):
    s, _, token = sign_in(probe, config, "web-u1")
    name = f"CSRF测试有限公司{uuid.uuid4().hex[:8]}"
    fields = flat(data.customer(name=name))
    for extra in ({}, {"csrf_token": "0" * 64}, {"csrf_token": csrf_for_other_session(config)}):
        r = s.post(f"{probe}/app/probe/customers", data=dict(fields, **extra), headers=HTML,
                   allow_redirects=False, timeout=10)
        assert r.status_code == 403 and r.headers["Content-Type"].startswith("text/html")
        assert "表单已失效" in r.text
    with rpc({"id": "web-u1", "roles": ["staff"], "department": "sales"}) as proxy:
        assert proxy.customers.list_customers({"q": name})["total"] == 0
    # the same post with the session's token goes through
    csrf = csrf_of(s.get(f"{probe}/app", headers=HTML, timeout=10).text)
    r = s.post(f"{probe}/app/probe/customers", data=dict(fields, csrf_token=csrf),
               headers=HTML, allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"].startswith("/app/probe/customers/")
    shown = s.get(probe + r.headers["Location"], headers=HTML, timeout=10)
    assert shown.status_code == 200 and name in shown.text and "saved" in shown.text
    assert "saved" not in s.get(probe + r.headers["Location"], headers=HTML, timeout=10).text


def csrf_for_other_session(config):
    from services.common.web.session import csrf_token
    return csrf_token(config, mint_token(config, "web-u1", "staff", "sales", ttl_minutes=5))


def flat(customer):
    out = {k: v for k, v in customer.items() if not isinstance(v, list)}
    out["tags.0"] = customer["tags"][0]
    for k, v in customer["contacts"][0].items():
        out[f"contacts.0.{k}"] = "true" if v is True else v
    return out


def test_error_pages_have_no_internals(probe, config):
    s, _, _ = sign_in(probe, config, "web-u2")
    csrf = csrf_of(s.get(f"{probe}/app", headers=HTML, timeout=10).text)
    bad = dict(flat(data.customer()), uscc="91310000MA1FL8XQ3Y", csrf_token=csrf)
    bad["contacts.0.mobile"] = "123"
    r = s.post(f"{probe}/app/probe/customers", data=bad, headers=HTML, timeout=10)
    assert r.status_code == 422 and 'id="error-summary"' in r.text
    assert 'href="#f-uscc"' in r.text and 'href="#f-contacts-0-mobile"' in r.text
    no_internals(r.text)
    r = s.get(f"{probe}/app/probe/customers/987654321", headers=HTML, timeout=10)
    assert r.status_code == 404 and "记录不存在，或不属于您" in r.text
    r = s.get(f"{probe}/app/probe/boom", headers=HTML, timeout=10)
    assert r.status_code == 500 and "系统出错" in r.text
    no_internals(r.text)
    r = s.get(f"{probe}/app/probe/customers/1?lang=en", headers=HTML, timeout=10)
    assert r.status_code in (200, 404)
    r = s.get(f"{probe}/no/such/page", headers=HTML, timeout=10)  # remembered: English
    assert r.status_code == 404 and "Not found, or not yours." in r.text
    assert "web-u2" in r.text  # the header knows who is signed in


def test_logout_needs_csrf_and_clears_the_cookie(base, config):
    s, _, _ = sign_in(base, config)
    r = s.post(f"{base}/logout", headers=HTML, allow_redirects=False, timeout=10)
    assert r.status_code == 403
    csrf = csrf_of(s.get(f"{base}/app", headers=HTML, timeout=10).text)
    r = s.post(f"{base}/logout", data={"csrf_token": csrf}, headers=HTML,
               allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"] == "/login?reason=signed_out"
    assert "crm_token=" in cookie_line(r, "crm_token") and "HttpOnly" in cookie_line(
        r, "crm_token")
    r = s.get(f"{base}/app", headers=HTML, allow_redirects=False, timeout=10)
    assert r.status_code == 303 and "reason=signin" in r.headers["Location"]
    # an expired session is dropped without a CSRF token (nothing left to protect)
    r = requests.post(f"{base}/logout", cookies={"crm_token": expired_token(config)},
                      headers=HTML, allow_redirects=False, timeout=10)
    assert r.status_code == 303 and "Max-Age=0" in cookie_line(r, "crm_token")


def test_docs_and_static_offline(base):
    r = requests.get(f"{base}/docs", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text)
    assert any("swagger-ui-bundle.js" in a for a in assets), assets
    assert "http://" not in r.text and "https://" not in r.text  # nothing from outside
    for asset in assets:
        a = requests.get(base + asset, timeout=10)
        assert a.status_code == 200 and a.content, asset
        assert a.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        etag = a.headers["ETag"]
        again = requests.get(base + asset, headers={"If-None-Match": etag}, timeout=10)
        assert again.status_code == 304 and not again.content
    css = requests.get(f"{base}/static/kit.css", timeout=10)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert "max-age=300" in css.headers["Cache-Control"] and css.headers["ETag"]
    assert requests.get(f"{base}/static/../gateway.py", timeout=10).status_code == 404
    assert requests.get(f"{base}/static/nope.css", timeout=10).status_code == 404
    assert requests.get(f"{base}/openapi.json", timeout=10).json()["paths"].get("/login") is None


def test_json_routes_unchanged(base, config):
    r = requests.get(f"{base}/", timeout=10)  # API clients: the JSON 404 as before
    assert r.status_code == 404 and r.json() == {"error": "NOT_FOUND", "message": "not found",
                                                 "fields": {}}
    r = requests.get(f"{base}/nope", headers={"Accept": "application/json"}, timeout=10)
    assert r.status_code == 404 and r.json()["error"] == "NOT_FOUND"
    r = requests.get(f"{base}/customers", timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "UNAUTHORIZED"
    r = requests.get(f"{base}/customers", headers=HTML, timeout=10)  # no negotiation on API
    assert r.status_code == 401 and r.json()["error"] == "UNAUTHORIZED"
    bearer = {"Authorization": f"Bearer {mint_token(config, 'u1', 'staff', 'sales')}"}
    r = requests.get(f"{base}/customers", headers=bearer, timeout=10)
    assert r.status_code == 200 and "items" in r.json()
    r = requests.get(f"{base}/customers/1", cookies={"crm_token": bearer["Authorization"][7:]},
                     timeout=10)
    assert r.status_code == 401  # the JSON API takes the bearer header only
    # browsers: / goes to the workspace or to sign-in
    r = requests.get(f"{base}/", headers=HTML, allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"].startswith("/login?next=")
    s, _, _ = sign_in(base, config)
    r = s.get(f"{base}/", headers=HTML, allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"] == CustomersGateway.web_home
    r = requests.delete(f"{base}/login", headers=HTML, timeout=10)
    assert r.status_code == 405 and r.headers["Content-Type"].startswith("text/html")


GATEWAYS = ["services.customers.gateway:CustomersGateway", "services.sales.gateway:SalesGateway",
            "services.service_desk.gateway:ServiceDeskGateway",
            "services.marketing.gateway:MarketingGateway",
            "services.reporting.gateway:ReportingGateway"]


@pytest.mark.parametrize("target", GATEWAYS)
def test_every_gateway_serves_the_kit(target, start_gateway, config):
    import importlib
    module, cls = target.split(":")
    gateway = getattr(importlib.import_module(module), cls)
    base = start_gateway(gateway)
    page_ = requests.get(f"{base}/login", headers=HTML, timeout=10)
    assert page_.status_code == 200 and "crm token" in page_.text
    assert requests.get(f"{base}/docs", timeout=10).status_code == 200
    assert requests.get(f"{base}/static/kit.css", timeout=10).status_code == 200
    r = requests.get(f"{base}/", headers=HTML, allow_redirects=False, timeout=10)
    assert r.status_code in (302, 303)  # browsers: to sign-in (8005: to its dashboard)
    r = requests.get(f"{base}/no-such-path", headers=HTML, timeout=10)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html")
    r = requests.get(f"{base}/no-such-path", timeout=10)
    assert r.status_code == 404 and r.json()["error"] == "NOT_FOUND"
    paths = requests.get(f"{base}/openapi.json", timeout=10).json()["paths"]
    assert not {"/login", "/logout", "/docs", "/app"} & set(paths)
    assert not any(p.startswith("/static") for p in paths)
