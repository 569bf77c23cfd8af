"""The page kit without a broker: catalogues complete in both languages (every
catalogue, every t('…') used in a template), CSRF tokens (HMAC-SHA256 as RFC 2104
defines it, computed here with the standard library), session cookie flags, error
pages without internals, forms keeping values and errors, content negotiation."""
import hashlib
import hmac
import json
import re
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from services.common.errors import Conflict, Forbidden, NotFound, ValidationError
from services.common.web import forms, i18n, session
from services.common.web.pages import PageContext, page, render, wants_html
from services.common.web.templating import environment

ROOT = Path(__file__).resolve().parents[3]
CONFIG = {"WEB_SECRET": "unit-test-secret", "JWT": {"key": "k" * 40}}
PLACEHOLDER = re.compile(r"{(\w+)}")
T_CALL = re.compile(r"""\bt\(\s*['"]([\w.\-]+)['"]\s*[,)]""")  # literal keys only


def request(path="/", method="GET", headers=None, data=None, cookies=None, base="http://x"):
    builder = EnvironBuilder(path=path, method=method, headers=headers or {}, data=data,
                             base_url=base)
    env = builder.get_environ()
    if cookies:
        env["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return Request(env)


# --- catalogues ---------------------------------------------------------------------------
def catalogue_pairs():
    pairs = []
    for folder in i18n.all_catalogue_folders():
        files = {lang: folder / f"{lang}.json" for lang in i18n.LANGS}
        present = [lang for lang, f in files.items() if f.exists()]
        if not present:
            continue  # an empty messages/ folder holds no keys
        assert len(present) == len(files), (folder, "needs", sorted(files))
        pairs.append((folder, *(json.loads(files[lang].read_text(encoding="utf-8"))
                                for lang in i18n.LANGS)))
    return pairs


def test_every_catalogue_has_every_key_in_both_languages():
    pairs = catalogue_pairs()
    assert pairs and pairs[0][0] == ROOT / "services/common/web/messages"
    for folder, zh, en in pairs:
        where = folder.relative_to(ROOT)
        assert set(zh) == set(en), (where, sorted(set(zh) ^ set(en)))
        for key in zh:
            assert isinstance(zh[key], str) and zh[key].strip(), (where, key, "zh_CN")
            assert isinstance(en[key], str) and en[key].strip(), (where, key, "en")
            assert set(PLACEHOLDER.findall(zh[key])) == set(PLACEHOLDER.findall(en[key])), \
                (where, key)


def test_every_key_a_template_uses_is_in_its_catalogues():
    missing = []
    kit_templates = ROOT / "services/common/web/templates"
    folders = [(kit_templates, None)] + [(p, p.parent.name)
                                         for p in sorted(ROOT.glob("services/*/templates"))]
    for folder, service in folders:
        zh, en = i18n.catalogue("zh_CN", service), i18n.catalogue("en", service)
        for path in folder.rglob("*.html"):
            for key in T_CALL.findall(path.read_text(encoding="utf-8")):
                if key not in zh or key not in en:
                    missing.append(f"{path.relative_to(ROOT)}: {key}")
    assert not missing, missing


def test_policy_words_and_zh_cn_first():
    t = i18n.translator("zh_CN")
    assert t("customer.name") == "客户名称" and t("customer.uscc") == "统一社会信用代码"
    assert [t(f"customer.type.{v}") for v in ("potential", "closed", "lost")] == \
        ["潜在客户", "成交客户", "流失客户"]
    assert i18n.DEFAULT_LANG == "zh_CN"
    assert i18n.translator("en")("list.total", n=3) == "3 in total"
    assert t("no.such.key") == "no.such.key"
    for raw, code in (("en", "en"), ("en-US", "en"), ("zh", "zh_CN"), ("zh-CN", "zh_CN"),
                      ("fr", None), ("", None), (None, None)):
        assert i18n.normalise_lang(raw) == code


# --- CSRF, cookies, flash --------------------------------------------------------------------
def test_csrf_token_is_hmac_sha256_of_the_session_token():
    token = "header.payload.signature"
    expected = hmac.new(b"unit-test-secret", b"csrf:" + token.encode(),
                        hashlib.sha256).hexdigest()
    assert session.csrf_token(CONFIG, token) == expected
    assert session.csrf_ok(CONFIG, token, expected)
    assert not session.csrf_ok(CONFIG, token, expected[:-1] + "0")
    assert not session.csrf_ok(CONFIG, token, "")
    assert not session.csrf_ok(CONFIG, token, None)
    assert not session.csrf_ok(CONFIG, "", expected)
    assert not session.csrf_ok(CONFIG, "other.session.token", expected)
    other_secret = dict(CONFIG, WEB_SECRET="another")
    assert session.csrf_token(other_secret, token) != expected
    # without WEB_SECRET the HS256 key is the secret (dev)
    dev = {"JWT": {"key": "k" * 40}}
    assert session.csrf_token(dev, token) == hmac.new(
        b"k" * 40, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()
    with pytest.raises(RuntimeError):
        session.server_secret({})


def test_hmac_matches_rfc_4231_case_2():
    # RFC 4231 4.3: key "Jefe", data "what do ya want for nothing?"
    assert hmac.new(b"Jefe", b"what do ya want for nothing?", hashlib.sha256).hexdigest() == \
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    # the kit's MAC is that HMAC over "<purpose>:<value>"
    assert session._mac({"WEB_SECRET": "Jefe"}, "what do ya want for nothing?", "") == \
        hmac.new(b"Jefe", b"what do ya want for nothing?:", hashlib.sha256).hexdigest()


def set_cookie_lines(resp):
    return resp.headers.getlist("Set-Cookie")


@pytest.mark.parametrize("base,headers,secure", [
    ("http://x", {}, False), ("https://x", {}, True),
    ("http://x", {"X-Forwarded-Proto": "https"}, True),
    ("http://x", {"X-Forwarded-Proto": "http"}, False)])
def test_session_cookie_flags(base, headers, secure):
    req = request(base=base, headers=headers)
    resp = Response()
    session.set_session_cookie(resp, req, "tok.en.x", expires_at=None)
    (line,) = set_cookie_lines(resp)
    parts = [p.strip() for p in line.split(";")]
    assert parts[0] == "crm_token=tok.en.x"
    assert "HttpOnly" in parts and "SameSite=Strict" in parts and "Path=/" in parts
    assert ("Secure" in parts) is secure
    resp = Response()
    session.clear_session_cookie(resp, req)
    (line,) = set_cookie_lines(resp)
    assert "Max-Age=0" in line and "HttpOnly" in line


def test_flash_is_signed():
    value = session.encode_flash(CONFIG, "已保存 <b>", "success")
    assert session.decode_flash(CONFIG, value) == ("已保存 <b>", "success")
    body, mac = value.rsplit(".", 1)
    assert session.decode_flash(CONFIG, body + "." + "0" * len(mac)) is None
    assert session.decode_flash(CONFIG, "garbage") is None
    assert session.decode_flash(dict(CONFIG, WEB_SECRET="x"), value) is None


@pytest.mark.parametrize("url,ok", [
    ("/app/customers?q=1", True), ("/", True), ("//evil.example/x", False),
    ("http://evil.example/", False), ("javascript:alert(1)", False), ("/\\evil", False),
    ("", False), (None, False), ("/a\nb", False)])
def test_next_is_local_only(url, ok):
    assert session.safe_next(url, "/home") == (url if ok else "/home")


@pytest.mark.parametrize("accept,html", [
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
    ("text/html", True), ("*/*", False), ("application/json", False), ("", False),
    ("application/json, text/html;q=0.5", False), ("text/html;q=0.9, application/json", False)])
def test_content_negotiation(accept, html):
    assert wants_html(request(headers={"Accept": accept} if accept else {})) is html


# --- forms -----------------------------------------------------------------------------------
def test_errors_flatten_to_dotted_names():
    nested = {"contacts": {0: {"mobile": ["bad mobile"]}, "_schema": ["one primary"]},
              "uscc": ["bad check character"], "name": "required"}
    assert forms.flatten_errors(nested) == {
        "contacts.0.mobile": ["bad mobile"], "contacts._schema": ["one primary"],
        "uscc": ["bad check character"], "name": ["required"]}
    assert forms.flatten_errors({"contacts.0.email": ["bad"]}) == {"contacts.0.email": ["bad"]}
    assert forms.flatten_errors({"tags": [{"x": ["a"]}, "b"]}) == {"tags.x": ["a"],
                                                                    "tags": ["b"]}


def test_nest_builds_lists_from_numeric_parts():
    flat = {"name": "甲", "contacts.1.name": "乙", "contacts.0.name": "丙",
            "contacts.0.mobile": "139", "tags.0": "x", "address.city": "上海"}
    assert forms.nest(flat) == {"name": "甲", "tags": ["x"], "address": {"city": "上海"},
                                "contacts": [{"name": "丙", "mobile": "139"}, {"name": "乙"}]}


names = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6)
leaves = st.text(min_size=1, max_size=8)
trees = st.recursive(leaves, lambda c: st.one_of(
    st.dictionaries(names, c, min_size=1, max_size=3),
    st.lists(c, min_size=1, max_size=3)), max_leaves=12)


def dotted(node, prefix=""):
    """The reference flattening written here: dict keys and list indexes joined by '.'."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = ((str(i), v) for i, v in enumerate(node))
    else:
        return {prefix: node}
    out = {}
    for k, v in items:
        out.update(dotted(v, f"{prefix}.{k}" if prefix else k))
    return out


@given(st.dictionaries(names, trees, min_size=1, max_size=4))
def test_nest_inverts_dotted_names(tree):
    assert forms.nest(dotted(tree)) == tree


def test_form_keeps_values_and_puts_errors_next_to_fields():
    req = request("/x", "POST", data={"name": "<script>x</script>", "contacts.0.mobile": "12",
                                      "tags": ["a", "b"], "csrf_token": "t"})
    form = forms.Form(req)
    assert "csrf_token" not in form.values and form.values_of("tags") == ["a", "b"]
    form.with_errors(ValidationError("bad", {"contacts": {0: {"mobile": ["手机号码格式不正确"]}}}))
    env = environment(None)
    html = env.from_string(
        '{% import "kit/macros.html" as ui %}{{ ui.error_summary(form, t) }}'
        '{{ ui.field(form, "name", "客户名称") }}{{ ui.field(form, "contacts.0.mobile", "手机") }}'
    ).render(form=form, t=i18n.translator("zh_CN"))
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html  # autoescape
    assert 'href="#f-contacts-0-mobile"' in html and "请修改以下问题" in html
    field = html[html.index('id="f-contacts-0-mobile"') - 400:]
    assert "手机号码格式不正确" in field and 'value="12"' in field
    assert 'aria-invalid="true"' in field
    assert form.nested() == {"name": "<script>x</script>", "contacts": [{"mobile": "12"}],
                             "tags": ["a", "b"]}


SUMMARY_FORM = (
    '{% import "kit/macros.html" as ui %}{{ ui.error_summary(form, t) }}'
    '{{ ui.field(form, "name", "客户名称", required=True) }}'
    '{{ ui.field(form, "contacts.0.mobile", "R&D 手机") }}'
    '{{ ui.select(form, "tier", "Tier", [("key", "Key")]) }}'
    '<fieldset class="field" id="f-customer_id"><legend>客户 <span class="req">*</span>'
    '</legend></fieldset>')


def summary_of(html):
    return html[html.index('id="error-summary"'):html.index("</ul>")]


@pytest.mark.parametrize("lang,expected", [
    ("zh_CN", ['<a href="#f-contacts-0-mobile"><span class="error-summary__field" '
               'data-summary-field="f-contacts-0-mobile">R&amp;D 手机：</span>号码不对</a>',
               '<a href="#f-customer_id"><span class="error-summary__field" '
               'data-summary-field="f-customer_id">客户：</span>此项为必填项。</a>',
               '<a href="#f-name"><span class="error-summary__field" '
               'data-summary-field="f-name">客户名称：</span>此项为必填项。</a>',
               '<a href="#f-tier"><span class="error-summary__field" '
               'data-summary-field="f-tier">Tier：</span>档次不对</a>']),
    ("en", ['<a href="#f-name"><span class="error-summary__field" '
            'data-summary-field="f-name">客户名称: </span>Missing data for required field.</a>',
            'data-summary-field="f-customer_id">客户: </span>']),
])
def test_error_summary_names_each_field_by_its_label(lang, expected):
    """The summary at the top said "此项为必填项。" with no field: each entry now starts
    with the field's label from the page (a label, or a fieldset's legend), in the page's
    language, and links to the field; a field the page has no label for keeps the bare
    message; the label stays escaped."""
    from services.common.web import summary_labels
    req = request("/x", "POST", data={"name": ""}, cookies={"crm_lang": lang})
    ctx = PageContext(req, CONFIG)
    form = forms.Form(req).with_errors({
        "name": ["Missing data for required field."], "customer_id": [
            "Missing data for required field."], "contacts": {0: {"mobile": ["号码不对"]}},
        "tier": ["档次不对"], "ghost": ["no such field here"]})
    html = environment(None).from_string(SUMMARY_FORM).render(form=form, t=ctx.t)
    named = summary_labels.name_fields(html, ctx.t)
    for piece in expected:
        assert piece in summary_of(named), summary_of(named)
    assert ('<a href="#f-ghost"><span class="error-summary__field" '
            'data-summary-field="f-ghost"></span>no such field here</a>') in named
    assert named[named.index("</ul>"):] == html[html.index("</ul>"):]  # the form unchanged


def test_pages_name_the_fields_in_their_error_summary():
    """PageContext.render fills the summary: the sign-in page's missing token."""
    req = request("/login", "POST", data={"token": ""})
    ctx = PageContext(req, CONFIG)
    form = forms.Form(req).with_errors({"token": ["Missing data for required field."]})
    html = ctx.render("kit/login.html", status=422, form=form, users={}, next="/", reason=None,
                      hint=lambda uid: uid).get_data(as_text=True)
    assert ('<a href="#f-token"><span class="error-summary__field" '
            'data-summary-field="f-token">访问令牌：</span>此项为必填项。</a>') in html


# --- error pages -----------------------------------------------------------------------------
class FakeActor:
    def set(self, actor):
        self.value = actor


class Probe:
    name = "probe"
    container_config = CONFIG

    def __init__(self):
        self.actor = FakeActor()

    @page("GET", "/p/boom", auth=False)
    def boom(self, request):
        raise RuntimeError("secret internals at /srv/app.py line 3")

    @page("GET", "/p/<kind>", auth=False)
    def declared(self, request, kind):
        raise {"404": NotFound("customer 7 not found"), "403": Forbidden("managers only"),
               "409": Conflict("version 3 is stale"),
               "422": ValidationError("bad", {"uscc": ["校验码不正确"]})}[kind]

    @page("POST", "/p/write", auth=False)
    def write(self, request):
        raise AssertionError("must not run without CSRF")

    @page("GET", "/p/ok", auth=False)
    def ok(self, request):
        return render("kit/error.html", status_code=200, title="t", message="m")


@pytest.mark.parametrize("kind,status,text", [
    ("404", 404, "记录不存在，或不属于您"), ("403", 403, "无权操作"),
    ("409", 409, "其他人修改了这条记录"), ("422", 422, "校验码不正确")])
def test_declared_errors_become_pages(kind, status, text):
    resp = Probe().declared(request(f"/p/{kind}"), kind=kind)
    body = resp.get_data(as_text=True)
    assert resp.status_code == status and resp.mimetype == "text/html" and text in body
    assert "customer 7" not in body  # a 404 says nothing about what exists
    assert "Traceback" not in body


def test_unexpected_errors_show_no_internals():
    resp = Probe().boom(request("/p/boom"))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 500 and "系统出错" in body
    assert "secret internals" not in body and "Traceback" not in body and "/srv" not in body


def test_post_without_csrf_never_runs_the_page():
    resp = Probe().write(request("/p/write", "POST", data={"x": "1"}))
    assert resp.status_code == 403 and "表单已失效" in resp.get_data(as_text=True)


def test_signed_in_pages_send_you_to_the_login_page():
    class Private(Probe):
        @page("GET", "/q")
        def q(self, request):
            raise AssertionError("not signed in")

    resp = Private().q(request("/q?a=1"))
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/login?reason=signin&next=%2Fq%3Fa%3D1"
    resp = Private().q(request("/q", cookies={"crm_token": "bad.token.x"}))
    assert resp.headers["Location"].startswith("/login?reason=invalid")
    assert "Max-Age=0" in " ".join(set_cookie_lines(resp))


def test_security_headers_and_language_cookie():
    resp = Probe().ok(request("/p/ok?lang=en"))
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert 'lang="en"' in resp.get_data(as_text=True)
    assert any(c.startswith("crm_lang=en;") for c in set_cookie_lines(resp))
    ctx = PageContext(request("/", cookies={"crm_lang": "en"}), CONFIG)
    assert ctx.lang == "en" and ctx.t("nav.sign_out") == "Sign out"


def test_service_messages_shown_in_the_page_language():
    req = request("/x", "POST", data={"age": "x"}, cookies={"crm_lang": "zh_CN"})
    PageContext(req, CONFIG)  # a page request: forms made from it speak its language
    form = forms.Form(req).with_errors({"age": ["Not a valid integer."], "b": ["odd text"]})
    assert form.error("age") == ["请输入整数。"] and form.error("b") == ["odd text"]
    assert ("age", "请输入整数。") in form.summary()
    en = request("/x", "POST", data={}, cookies={"crm_lang": "en"})
    PageContext(en, CONFIG)
    assert forms.Form(en).with_errors({"a": ["Not a valid integer."]}).error("a") == \
        ["Not a valid integer."]


# --- fuzz: no input makes a page fail or leak ---------------------------------------------
junk = st.text(max_size=60)
error_trees = st.recursive(st.one_of(junk, st.none(), st.integers()), lambda c: st.one_of(
    st.dictionaries(st.one_of(junk, st.integers(0, 5)), c, max_size=3),
    st.lists(c, max_size=3)), max_leaves=10)


class Thrower(Probe):
    fields = None

    @page("POST", "/p/form", auth=False, csrf=False)
    def form(self, request):
        raise ValidationError("Invalid input", self.fields)


@given(error_trees, st.dictionaries(junk, junk, max_size=5))
def test_any_validation_error_and_form_input_make_a_422_page(fields, values):
    gw = Thrower()
    gw.fields = fields if isinstance(fields, dict) else {"x": fields}
    resp = gw.form(request("/p/form", "POST", data=values))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Traceback" not in body
    assert "<script>" not in body.replace('<script src="', "")  # every value escaped


def login_gateway():
    from services.common.gateway import WebRoutes

    class LoginGw(WebRoutes):
        name = "login_probe"
        container_config = CONFIG
        actor = FakeActor()

    return LoginGw()


@given(st.dictionaries(st.sampled_from(["token", "next", "csrf_token", "x"]), junk, max_size=4),
       st.booleans())
def test_login_form_fuzz(values, with_csrf):
    nonce = "fixed-nonce"
    if with_csrf:
        values = dict(values, csrf_token=session.login_csrf(CONFIG, nonce))
    resp = login_gateway().login_submit(
        request("/login", "POST", data=values, cookies={"crm_login": nonce}))
    body = resp.get_data(as_text=True)
    assert resp.status_code in (401, 403, 422) and "Traceback" not in body
    assert "crm_token=" not in " ".join(set_cookie_lines(resp))
    if values.get("token", "").strip() and len(values["token"]) > 3:
        assert f'>{values["token"]}<' not in body  # a token is never echoed back


def test_language_links():
    ctx = PageContext(request("/app/x?q=上海&page=2"), CONFIG)
    assert ctx.lang_url("en") == "/app/x?q=%E4%B8%8A%E6%B5%B7&page=2&lang=en"
    posted = request("/app/x/save", "POST", data={"a": "1"},
                     headers={"Referer": "http://x/app/x/edit?id=3"})
    assert PageContext(posted, CONFIG).lang_url("en") == "/app/x/edit?lang=en"
    foreign = request("/app/x/save", "POST", headers={"Referer": "http://evil.example/a"})
    assert PageContext(foreign, CONFIG).lang_url("en") == "/?lang=en"


def test_filters_and_url_with():
    env = environment(None)
    out = env.from_string("{{ a | money }}|{{ b | when }}|{{ b | date }}|{{ c | when }}").render(
        a="1234567.5", b="2026-12-31T16:30:00+00:00", c="", tz="Asia/Shanghai")
    assert out == "1,234,567.50|2027-01-01 00:30|2027-01-01|"  # UTC+8, no DST
    assert env.from_string("{{ b | when }}").render(b="2026-12-31T16:30:00Z", tz="UTC") == \
        "2026-12-31 16:30"
    ctx = PageContext(request("/app/c?q=x&page=2&tags=a&tags=b"), CONFIG)
    assert ctx.url_with(page=3) == "/app/c?q=x&tags=a&tags=b&page=3"
    assert ctx.url_with(page=None, q="") == "/app/c?tags=a&tags=b"


def test_pager_keeps_the_filters():
    ctx = PageContext(request("/app/c?q=x&page=2"), CONFIG)
    html = environment(None).from_string(
        '{% import "kit/macros.html" as ui %}'
        '{% macro page_url(n) %}{{ url_with(page=n) }}{% endmacro %}'
        '{{ ui.pager(t, page=2, pages=5, total=90, url_for=page_url) }}').render(
            ctx.base_context())
    assert 'href="/app/c?q=x&amp;page=1"' in html and 'href="/app/c?q=x&amp;page=3"' in html
    assert "共 90 条" in html and "第 2 / 5 页" in html


# --- security headers: CSP on every kit page ---------------------------------------------------
def csp_directives(header):
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_content_security_policy_and_security_headers():
    resp = Probe().ok(request("/p/ok"))
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert resp.headers["X-Frame-Options"] == "DENY"
    csp = csp_directives(resp.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    script = csp["script-src"]  # no 'unsafe-inline', no 'unsafe-eval': files and a nonce
    assert script[0] == "'self'" and len(script) == 2 and script[1].startswith("'nonce-")
    nonce = script[1][len("'nonce-"):-1]
    assert len(nonce) >= 16 and re.fullmatch(r"[A-Za-z0-9_\-]+", nonce)
    again = csp_directives(Probe().ok(request("/p/ok")).headers["Content-Security-Policy"])
    assert again["script-src"] != script  # a fresh nonce per answer
    # error pages too (a 404 and the 500 page)
    for resp in (Probe().declared(request("/p/404"), kind="404"),
                 Probe().boom(request("/p/boom"))):
        assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


def test_no_template_has_an_inline_script_or_event_handler_attribute():
    """What the CSP's script-src (no 'unsafe-inline') relies on: scripts are files."""
    offenders = []
    for path in ROOT.glob("services/**/templates/**/*.html"):
        html = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", html, re.I):
            if "src=" not in tag and "csp_nonce" not in tag:
                offenders.append(f"{path.relative_to(ROOT)}: {tag}")
        for attr in re.findall(r"<[a-z][^>]*\son[a-z]+\s*=", html, re.I):
            offenders.append(f"{path.relative_to(ROOT)}: {attr[:60]}")
        if "javascript:" in html.lower():
            offenders.append(f"{path.relative_to(ROOT)}: javascript: URL")
    assert not offenders, offenders


# --- /go/<service>?to=: a local /app path only -------------------------------------------------
@pytest.mark.parametrize("to,ok", [
    ("/app/customers?type=lost", "/app/customers?type=lost"),
    ("/app/customers/12", "/app/customers/12"),
    ("/app", "/app"),
    ("/app/customers?q=张三", "/app/customers?q=%E5%BC%A0%E4%B8%89"),  # RFC 3987 3.1: UTF-8 %XX
    ("/app/tickets?view=all&kind=complaint", "/app/tickets?view=all&kind=complaint"),
    ("", None), ("/", None), ("/login", None), ("/dashboard", None), ("/application", None),
    ("app/customers", None), ("//evil.example/app/x", None), ("/app//evil.example", None),
    ("http://evil.example/app/x", None), ("https:/app/x", None), ("/app/\\evil", None),
    ("/app/../login", None), ("/app/%2e%2e/login", None), ("/app/%2E%2E/x", None),
    ("/app/x y", None), ("/app/x\r\nSet-Cookie: a=b", None), ("/app/x\t", None),
    (None, None), (["/app/x"], None)])
def test_go_target_is_a_local_app_path_only(to, ok):
    from services.common.web import directory
    assert directory.app_path(to) == ok


def go_gateway(urls=None):
    from services.common.gateway import WebRoutes

    class GoGw(WebRoutes):
        name = "go_probe"
        container_config = dict(CONFIG, WORKSPACE_URLS=urls or {
            "customers": "https://crm.example.cn/customers/", "sales": "http://127.0.0.1:8002/"})
        actor = FakeActor()

    return GoGw()


def test_go_links_into_another_workspace():
    gw = go_gateway()
    resp = gw.go_workspace(request("/go/sales"), service="sales")
    assert resp.status_code == 303 and resp.headers["Location"] == "http://127.0.0.1:8002/"
    resp = gw.go_workspace(request("/go/customers?to=/app/customers%3Ftype%3Dlost"),
                           service="customers")
    assert resp.headers["Location"] == "https://crm.example.cn/customers/app/customers?type=lost"
    for bad in ("//evil.example/x", "http://evil.example/", "/login", "/app/../x", ""):
        req = EnvironBuilder(path="/go/sales", query_string={"to": bad},
                             base_url="http://x").get_request(Request)
        resp = gw.go_workspace(req, service="sales")
        assert resp.status_code == 404 and "Location" not in resp.headers, bad
    assert gw.go_workspace(request("/go/nope?to=/app/x"), service="nope").status_code == 404


# --- the switcher: staff find their own scorecard; home prefers their own workspace ----------
def signed_in(user, role, department, path="/app", service=None):
    from services.common.auth import mint_token
    token = mint_token(CONFIG, user, role=role, department=department)
    ctx = PageContext(request(path, cookies={"crm_token": token}), CONFIG, service)
    assert ctx.sign_in_from_cookie()
    return ctx.base_context()


@pytest.mark.parametrize("user,role,dept,service,switcher,home", [
    ("u1", "staff", "sales", "customers",
     [("customers", "客户管理", "/"), ("sales", "销售管理", "/go/sales"),
      ("reporting", "我的绩效", "/go/reporting?to=%2Fapp%2Fscorecard")], "/"),
    ("u2", "staff", "sales", "reporting",  # the dashboard refused them: back to their own
     [("customers", "客户管理", "/go/customers"), ("sales", "销售管理", "/go/sales"),
      ("reporting", "我的绩效", "/app/scorecard")], "/go/customers"),
    ("s1", "staff", "service", "reporting",
     [("service_desk", "客户服务", "/go/service_desk"),
      ("reporting", "我的绩效", "/app/scorecard")], "/go/service_desk"),
    ("s1", "staff", "service", "customers",  # not theirs: the first of their own
     [("service_desk", "客户服务", "/go/service_desk"),
      ("reporting", "我的绩效", "/go/reporting?to=%2Fapp%2Fscorecard")], "/go/service_desk"),
    ("mk1", "staff", "marketing", "marketing",  # marketing has no scorecard
     [("marketing", "市场活动", "/")], "/"),
    ("m1", "manager", "management", "reporting",
     [("customers", "客户管理", "/go/customers"), ("sales", "销售管理", "/go/sales"),
      ("service_desk", "客户服务", "/go/service_desk"), ("marketing", "市场活动", "/go/marketing"),
      ("reporting", "经营看板", "/")], "/"),
])
def test_switcher_and_home(user, role, dept, service, switcher, home):
    ctx = signed_in(user, role, dept, service=service)
    assert [(svc, ctx["t"](title), url) for svc, title, url in ctx["workspaces"]] == switcher
    assert ctx["home_url"] == home


# --- header badges ------------------------------------------------------------------------------
class Badged(Probe):
    badges = []
    calls = 0

    def header_badges(self, actor):
        type(self).calls += 1
        if isinstance(self.badges, BaseException):
            raise self.badges
        if self.badges == "slow":
            import eventlet
            eventlet.sleep(5)
        return self.badges

    @page("GET", "/b/ok")
    def ok(self, request):
        return render("kit/home.html", page_title="x")

    @page("GET", "/b/boom")
    def boom(self, request):
        raise RuntimeError("down")


def badge_page(badges, path="/b/ok", config=None):
    from services.common.auth import mint_token
    gw = Badged()
    gw.badges = badges
    if config:
        gw.container_config = config
    token = mint_token(CONFIG, "u1", role="staff", department="sales")
    fn = gw.ok if path == "/b/ok" else gw.boom
    resp = fn(request(path, cookies={"crm_token": token}))
    return resp, resp.get_data(as_text=True)


def test_header_badges_render_next_to_the_user_name():
    resp, html = badge_page([
        {"label": "nav.sign_in", "count": 3, "href": "/app/my-day", "tone": "danger",
         "title": "list.total", "args": {"n": 3}, "id": "due-badge"},
        {"label": "plain text", "count": None, "href": "/app/x"},
        {"label": "zero", "count": 0, "href": "/app/y"},  # nothing due: no badge
        {"label": "off-site", "count": 1, "href": "https://evil.example/"},
        {"label": "protocol-relative", "count": 1, "href": "//evil.example/"},
        {"count": 1, "href": "/app/no-label"}, "not a dict",
        {"label": "nan", "count": "x", "href": "/app/z"}])
    assert resp.status_code == 200
    user_box = html[html.index('class="user-box"'):html.index('id="sign-out"')]
    assert user_box.index("王芳") < user_box.index("header-badges")  # next to the name
    assert 'href="/app/my-day" class="header-badge header-badge--danger" title="共 3 条" ' \
        'id="due-badge">登录 <span class="header-badge__count">3</span></a>' in user_box
    assert 'href="/app/x" class="header-badge header-badge--info" title="plain text">' \
        'plain text</a>' in user_box
    for gone in ("zero", "off-site", "protocol-relative", "no-label", "not a dict", "nan"):
        assert gone not in html


@pytest.mark.parametrize("failure", [RuntimeError("bus down"), KeyError("overdue"), "slow"])
def test_a_failing_or_slow_badge_never_breaks_the_page(failure):
    import time as _time
    began = _time.perf_counter()
    resp, html = badge_page(failure, config=dict(CONFIG, HEADER_BADGE_TIMEOUT=0.2))
    assert resp.status_code == 200 and "王芳" in html and "header-badge" not in html
    assert _time.perf_counter() - began < 2  # the short timeout, not the badge's 5 s


def test_no_badges_by_default_and_none_on_a_500_page():
    resp, html = badge_page([])
    assert resp.status_code == 200 and "header-badges" not in html
    Badged.calls = 0
    resp, html = badge_page([{"label": "x", "count": 1, "href": "/app/x"}], path="/b/boom")
    assert resp.status_code == 500 and "header-badge" not in html and Badged.calls == 0
    from services.common.gateway import WebRoutes
    assert WebRoutes.header_badges(object(), {"id": "u1"}) == []


# --- translate_fields: generic marshmallow messages, services add their own --------------------
def test_translate_fields_generic_and_own_patterns():
    from marshmallow import Schema, fields, validate

    from services.common.web.field_messages import compile_patterns, translate_fields

    class S(Schema):
        name = fields.String(required=True, validate=validate.Length(min=1, max=200))
        code = fields.String(validate=validate.Length(equal=18))
        kind = fields.String(validate=validate.OneOf(["a", "b"]))
        age = fields.Integer(validate=validate.Range(min=0, max=150))
        rate = fields.Decimal(validate=validate.Range(min=0))
        email = fields.Email()
        day = fields.Date()
        when = fields.DateTime()
        ok = fields.Boolean()
        mobile = fields.String()
        tags = fields.List(fields.String())

    errors = S().validate({"code": "1", "kind": "c", "age": 200, "rate": "-0.5", "email": "x",
                           "day": "2026-13-01", "when": "soon", "ok": "maybe", "tags": "x",
                           "extra": 1})
    errors["mobile"] = ["mobile must be 11 digits starting with 1"]
    errors["nested"] = {"0": {"name": ["Longer than maximum length 200."]}}
    own = compile_patterns([(r"^mobile must", "customer.name")])  # any key of the catalogue
    zh = translate_fields(errors, i18n.translator("zh_CN"), "zh_CN", own)
    assert zh == {
        "name": ["此项为必填项。"], "code": ["长度须为 18 个字符。"], "kind": ["请从列表中选择。"],
        "age": ["须在 0 到 150 之间。"], "rate": ["不能小于 0。"],
        "email": ["电子邮箱格式不正确。"], "day": ["日期格式不正确（年-月-日）。"],
        "when": ["日期时间格式不正确。"], "ok": ["请选择是或否。"], "tags": ["格式不正确。"],
        "extra": ["不支持的字段。"], "mobile": ["客户名称"],
        "nested": {"0": {"name": ["最多 200 个字符。"]}}}
    assert translate_fields(errors, i18n.translator("en"), "en", own) == errors  # as they are
    t = i18n.translator("zh_CN")
    assert translate_fields({"a": ["Length must be between 2 and 5."]}, t, "zh_CN") == \
        {"a": ["长度须在 2 到 5 个字符之间。"]}
    assert translate_fields({"a": ["something else"], "b": [3]}, t, "zh_CN") == \
        {"a": ["something else"], "b": [3]}
    # forms use the same: a page's Form shows generic messages in Chinese
    req = request("/x", "POST", data={}, cookies={"crm_lang": "zh_CN"})
    PageContext(req, CONFIG)
    assert forms.Form(req).with_errors({"a": ["Shorter than minimum length 3."]}).error("a") == \
        ["至少 3 个字符。"]


def test_brand_names_the_workspace_as_the_user_knows_it():
    staff = signed_in("u2", "staff", "sales", service="reporting")
    boss = signed_in("m1", "manager", "management", service="reporting")
    anon = PageContext(request("/login"), CONFIG, "reporting").base_context()
    html = {who: environment("reporting").get_template("kit/_header_inner.html").render(ctx)
            for who, ctx in (("staff", staff), ("boss", boss), ("anon", anon))}
    assert '<span class="brand__ws">我的绩效</span>' in html["staff"]
    assert '<span class="brand__ws">经营看板</span>' in html["boss"]
    assert '<span class="brand__ws">经营看板</span>' in html["anon"]


# --- the 500 page itself must not fail ----------------------------------------------------------
def signed_in_request(path, user="u1"):
    from services.common.auth import mint_token
    token = mint_token(CONFIG, user, role="staff", department="sales")
    return request(path, cookies={"crm_token": token})


def assert_real_error_page(resp, status, message):
    body = resp.get_data(as_text=True)
    assert resp.status_code == status and resp.mimetype == "text/html"
    # the kit's layout (header, skip link, footer, stylesheet), not the plain fallback
    for part in ('class="site-header"', 'class="skip-link"', 'class="site-footer',
                 "/static/kit.css", f'id="error-{status}"', message):
        assert part in body, part
    for secret in ("Traceback", "secret internals", "/srv", "header context broke"):
        assert secret not in body
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"
    return body


def test_unexpected_error_page_is_the_real_500_page_signed_in():
    """A signed-in user's page raising an undeclared error gets the kit's 500 page in
    its layout (their name in the header), with nothing of the error."""
    body = assert_real_error_page(Badged().boom(signed_in_request("/b/boom")), 500, "系统出错")
    assert "王芳" in body


def test_500_page_keeps_its_layout_when_the_header_context_fails(monkeypatch, caplog):
    """The customers pages' report (04:45): under a page, an undeclared error made the
    500 page itself fail ("error page failed": its header's context raised - in that
    run a template asking for context the running code did not give) and the plain
    ``<h1>500</h1>`` fallback was served. Now the same page is served with the bare
    layout (no user box, no switcher), still in the page's language."""
    from services.common.web import directory

    def broken(*args, **kwargs):
        raise KeyError("header context broke")

    monkeypatch.setattr(directory, "workspaces_for", broken)
    assert_real_error_page(Badged().boom(signed_in_request("/b/boom")), 500, "系统出错")
    assert "error page failed" in caplog.text  # logged, for the operator
    resp = Badged().boom(signed_in_request("/b/boom?lang=en"))
    assert_real_error_page(resp, 500, 'lang="en"')
    # a declared error's page keeps its status and message in the bare layout
    resp = Probe().declared(signed_in_request("/p/404"), kind="404")
    assert_real_error_page(resp, 404, "记录不存在，或不属于您")


def test_500_page_of_a_process_older_than_its_templates(monkeypatch):
    """What the customers pages saw at 04:45: a gateway started before 09875db (whose
    base_context had no ``workspace_title``) rendering 09875db's header template:
    every page, the 500 page included, failed with an undefined variable. The
    500 page is now served in its layout all the same."""
    full = PageContext.base_context

    def older(self):
        context = full(self)
        context.pop("workspace_title")
        return context

    monkeypatch.setattr(PageContext, "base_context", older)
    assert_real_error_page(Badged().boom(signed_in_request("/b/boom")), 500, "系统出错")


def test_a_failing_form_context_is_the_500_page_not_an_escaping_error():
    class FormPages(Probe):
        @page("POST", "/f", auth=False, csrf=False, form_template="kit/error.html",
              form_context=lambda self, request: 1 / 0)
        def f(self, request):
            raise ValidationError("bad", {"name": ["Missing data for required field."]})

    assert_real_error_page(FormPages().f(request("/f", "POST", data={"name": ""})), 500,
                           "系统出错")


def test_flash_details_are_signed_local_links_shown_under_the_message():
    details = [{"text": "#7 上海蓝天科技有限公司（名称相同）", "href": "/app/customers/7"},
               {"text": "off-site", "href": "https://evil.example/"},
               {"text": "protocol-relative", "href": "//evil.example/x"},
               {"text": "x" * 500, "href": None}, "not a dict"]
    value = session.encode_flash(CONFIG, "已保存", "warning", details)
    flash = session.decode_flash(CONFIG, value)
    assert flash == ("已保存", "warning") and flash[0] == "已保存"
    assert flash.details == (
        {"text": "#7 上海蓝天科技有限公司（名称相同）", "href": "/app/customers/7"},
        {"text": "off-site", "href": None}, {"text": "protocol-relative", "href": None},
        {"text": "x" * 120, "href": None})
    assert len(value) < 4096 // 2
    body, mac = value.rsplit(".", 1)
    forged = session._b64(json.dumps({"m": "x", "k": "info", "d": [
        {"text": "phish", "href": "/app/x"}]}).encode())
    assert session.decode_flash(CONFIG, forged + "." + mac) is None
    many = session.decode_flash(CONFIG, session.encode_flash(
        CONFIG, "m", "info", [{"text": str(i), "href": f"/app/{i}"} for i in range(30)]))
    assert len(many.details) == 10

    class Flashing(Probe):
        @page("GET", "/f/ok", auth=False)
        def ok(self, request):
            return render("kit/home.html", page_title="x")

    resp = Flashing().ok(request("/f/ok", cookies={session.FLASH_COOKIE: value}))
    html = resp.get_data(as_text=True)
    box = html[html.index('id="flash"'):html.index("</div>", html.index('id="flash"'))]
    assert "已保存" in box and 'id="flash-details"' in box
    assert '<a href="/app/customers/7">#7 上海蓝天科技有限公司（名称相同）</a>' in box
    assert "evil.example" not in html and "<li>off-site</li>" in box


# --- footer: separators only between the parts shown -------------------------------------------
def footer_text(html):
    inner = re.search(r'<footer class="site-footer[^"]*">(.*?)</footer>', html, re.S).group(1)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>|\{#.*?#\}", "", inner)).strip()


def test_footer_has_no_stray_separator_without_the_docs_link():
    ctx = PageContext(request("/app/public/faq"), CONFIG, "service_desk").base_context()
    env = environment("service_desk")
    with_docs = env.from_string('{% extends "kit/base.html" %}').render(ctx)
    without = env.from_string('{% extends "kit/base.html" %}'
                              '{% set footer_docs = false %}').render(ctx)
    assert footer_text(with_docs) == "接口文档 · 客户关系管理平台 · 数据仅供授权人员使用"
    assert footer_text(without) == "客户关系管理平台 · 数据仅供授权人员使用"
    assert 'href="/docs"' not in without.split('<footer')[1]
    faq = env.get_template("service_desk/public_faq.html").render(
        ctx, form=forms.Form(request("/app/public/faq")), q="", items=[], total=0)
    assert footer_text(faq) == "客户关系管理平台 · 数据仅供授权人员使用"
