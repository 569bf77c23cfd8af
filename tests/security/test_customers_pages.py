"""The customers workspace's pages under attack, through the real gateway and broker:
CSRF refused with nothing written; staff A cannot open, edit, export or download
staff B's customer or attachment (each answers the 404 page, B's data nowhere in
it); contacts of a customer you do not own never appear unmasked in a page; the
session cookie's flags; no stack trace in any page for fuzzed form input."""
import base64
import csv
import io
import re
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.customers.gateway import CustomersGateway
from services.customers.service import CustomersService
from tests.support import data
from tests.support.fixtures import actor
from tests.support.standards import is_resident_id, ric_check_char
from tests.support.web_session import WebSession

pytestmark = pytest.mark.integration
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\ntrailer<<>>\n%%EOF\n"
LEAKS = ("Traceback", 'File "/', "services/customers", "sqlalchemy", "nameko", "RemoteError")


def owner(tag):
    return f"sec-{tag}-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def world(module_gateway, config):
    from services.common.cli.rpc_client import cluster
    base = module_gateway(CustomersGateway, CustomersService)
    a, b = owner("a"), owner("b")
    with cluster(config, actor(b)) as p:
        b_cust = p.customers.create_customer(data.customer(tags=["乙方"], needs="B 的机密需求"))
        b_att = p.customers.add_attachment(b_cust["id"], "b.pdf", base64.b64encode(PDF).decode())
    with cluster(config, actor(a)) as p:
        a_cust = p.customers.create_customer(data.customer())
    return {"base": base, "a": a, "b": b, "b_cust": b_cust, "b_att": b_att, "a_cust": a_cust,
            "A": WebSession(base, config, a), "B": WebSession(base, config, b),
            "M": WebSession(base, config, owner("m"), "manager", "management")}


def assert_no_leak(resp):
    for marker in LEAKS:
        assert marker not in resp.text, (marker, resp.status_code, resp.text[:800])
    assert resp.headers["Content-Type"].startswith("text/html") or resp.status_code in (
        200, 303)


def b_secrets(world):
    c = world["b_cust"]
    return [c["name"], c["uscc"], c["contacts"][0]["mobile"], "B 的机密需求"]


# --- CSRF -----------------------------------------------------------------------------------
def test_create_without_or_with_a_wrong_csrf_token_is_refused_and_writes_nothing(world, rpc):
    s, name = world["A"], f"跨站请求测试有限公司{uuid.uuid4().hex[:4]}"
    form = {"name": name, "uscc": data.uscc(), "industry": "C35", "type": "potential",
            "contacts.0.name": "张三", "contacts.0.title": "经理",
            "contacts.0.mobile": "13800138000", "primary": "0", "rows": "3"}
    other_sessions_token = world["B"].csrf()
    for token in (None, "", "0" * 64, other_sessions_token):
        body = dict(form) if token is None else dict(form, csrf_token=token)
        r = s.post("/app/customers/new", data=body)
        assert r.status_code == 403 and "text/html" in r.headers["Content-Type"]
        assert_no_leak(r)
    with rpc(actor(world["a"])) as p:
        assert p.customers.list_customers({"q": name})["total"] == 0
    r = s.post_form("/app/customers/new", form)  # the same form with the token: saved
    assert r.status_code == 303


def test_actions_without_csrf_change_nothing(world, rpc):
    s, cid = world["A"], world["a_cust"]["id"]
    before = s.get(f"/app/customers/{cid}").text.count("<tr")
    for path, body in ((f"/app/customers/{cid}/tags", {"tags": "被注入"}),
                       (f"/app/customers/{cid}/lost", {"reason_code": "price"}),
                       (f"/app/customers/{cid}/edit", {"name": "改名有限公司"}),
                       ("/logout", {})):
        r = s.post(path, data=body)
        assert r.status_code == 403, path
    r = s.post(f"/app/customers/{cid}/attachments", files={"file": ("x.pdf", PDF)})
    assert r.status_code == 403
    with rpc(actor(world["a"])) as p:
        after = p.customers.get_customer(cid)
        assert p.customers.list_attachments(cid) == []
    assert after["tags"] == world["a_cust"]["tags"] and after["type"] == "potential"
    assert after["name"] == world["a_cust"]["name"] and after["version"] == 1
    assert s.get(f"/app/customers/{cid}").text.count("<tr") == before


# --- staff A against staff B's customer -------------------------------------------------------
def test_staff_cannot_open_edit_or_download_anothers_customer(world, rpc):
    s, cid, aid = world["A"], world["b_cust"]["id"], world["b_att"]["id"]
    gets = [f"/app/customers/{cid}", f"/app/customers/{cid}/edit",
            f"/app/customers/{cid}/attachments/{aid}", f"/app/customers/{cid}/attachments/1",
            f"/app/customers/{world['a_cust']['id']}/attachments/{aid}"]
    for path in gets:
        r = s.get(path)
        assert r.status_code == 404, path
        assert "text/html" in r.headers["Content-Type"] and PDF not in r.content
        for secret in b_secrets(world):
            assert secret not in r.text
        assert_no_leak(r)
    posts = [(f"/app/customers/{cid}/edit", {"name": "篡改有限公司", "version": "1"}),
             (f"/app/customers/{cid}/tags", {"tags": "篡改"}),
             (f"/app/customers/{cid}/tags/remove", {"tag": "乙方"}),
             (f"/app/customers/{cid}/lost", {"reason_code": "price"}),
             (f"/app/customers/{cid}/reactivate", {}),
             (f"/app/customers/{cid}/owner", {"owner_id": world["a"]})]
    for path, body in posts:
        r = s.post_form(path, body)
        assert r.status_code == 404, (path, r.status_code)
        assert_no_leak(r)
    r = s.post_form(f"/app/customers/{cid}/attachments", {}, files={"file": ("x.pdf", PDF)})
    assert r.status_code == 404
    with rpc(actor(world["b"])) as p:
        after = p.customers.get_customer(cid)
        assert len(p.customers.list_attachments(cid)) == 1
    b = world["b_cust"]
    assert (after["name"], after["tags"], after["type"], after["owner_id"], after["version"]) \
        == (b["name"], b["tags"], "potential", world["b"], b["version"])


def test_staff_lists_and_exports_hold_only_their_own(world):
    s = world["A"]
    for query in ("", f"?q={world['b_cust']['uscc']}", f"?owner_id={world['b']}",
                  "?tags=乙方"):
        r = s.get("/app/customers" + query)
        assert r.status_code == 200
        assert f'data-id="{world["b_cust"]["id"]}"' not in r.text
        for secret in b_secrets(world):
            if secret not in query:  # what was typed is echoed in the search box
                assert secret not in r.text
        for fmt in ("csv", "xlsx"):
            r = s.get(f"/app/customers/export.{fmt}{query}")
            assert r.status_code == 200, (fmt, query)
            assert world["b_cust"]["uscc"].encode() not in r.content
            if fmt == "xlsx":
                from openpyxl import load_workbook
                rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(
                    values_only=True))
                assert all(world["b_cust"]["uscc"] not in row for row in rows)


def test_a_manager_sees_the_customer_with_contacts_masked_everywhere(world):
    m, b = world["M"], world["b_cust"]
    mobile, email = b["contacts"][0]["mobile"], b["contacts"][0]["email"]
    pages = [f"/app/customers/{b['id']}", f"/app/customers/{b['id']}/edit",
             f"/app/customers?q={b['uscc']}"]
    for path in pages:
        r = m.get(path)
        assert r.status_code == 200, path
        assert mobile not in r.text and email not in r.text, path
    assert f"{mobile[:3]}****{mobile[-4:]}" in m.get(pages[0]).text
    r = m.get(f"/app/customers/export.csv?q={b['uscc']}")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [x["contact_mobile"] for x in rows] == [f"{mobile[:3]}****{mobile[-4:]}"]
    assert mobile not in r.text and email not in r.text


def test_managers_edit_form_cannot_unmask_or_overwrite_contacts(world, rpc):
    """The edit form of a customer someone else owns carries masked contacts: saving it
    must not store the masks over the real values."""
    m, b = world["M"], world["b_cust"]
    page = m.get(f"/app/customers/{b['id']}/edit").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    values = dict(re.findall(r'name="(contacts\.\d+\.\w+)" value="([^"]*)"', page))
    body = dict(values, name=b["name"], uscc=b["uscc"], industry="C35", type="potential",
                region="被经理修改", primary="0", rows="3", version=version)
    r = m.post_form(f"/app/customers/{b['id']}/edit", body)
    assert r.status_code in (303, 422), r.status_code
    with rpc(actor(world["b"])) as p:
        after = p.customers.get_customer(b["id"])
    assert after["contacts"][0]["mobile"] == b["contacts"][0]["mobile"]
    assert after["contacts"][0]["email"] == b["contacts"][0]["email"]


# --- the session cookie -----------------------------------------------------------------------
def test_session_cookie_flags(world, config):
    from services.common.auth import mint_token
    s = WebSession(world["base"])
    page = s.get("/login").text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)
    r = s.post("/login", data={"csrf_token": token, "next": "/app/customers",
                               "token": mint_token(config, "sec-cookie", "staff", "sales")})
    assert r.status_code == 303 and r.headers["Location"] == "/app/customers"
    cookie = next(c for c in r.raw.headers.getlist("Set-Cookie")
                  if c.startswith("crm_token="))
    flags = {f.strip().lower() for f in cookie.split(";")[1:]}
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags


# --- no stack trace, whatever is typed --------------------------------------------------------
NOT_AN_ID = "110101199003077777"  # deliberately invalid: GB 11643 check character is 4, not 7
assert not is_resident_id(NOT_AN_ID) and ric_check_char(NOT_AN_ID[:17]) != NOT_AN_ID[17]
TEXT = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", " ", "0", "-1", "1e309", "NaN", "9" * 40, "C35", "%", "'; DROP TABLE customers;--",
     "<script>alert(1)</script>", "{{7*7}}", NOT_AN_ID, "6222020200112233445",
     "\x00", "\ud7ff", "a" * 5000])
FORM_KEYS = ("name", "uscc", "industry", "region", "scale", "annual_budget", "needs",
             "source_channel", "type", "contacts.0.name", "contacts.0.title",
             "contacts.0.mobile", "contacts.0.email", "contacts.1.mobile", "primary", "rows",
             "contacts.99.name", "version")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(FORM_KEYS), TEXT, max_size=len(FORM_KEYS)))
def test_fuzzed_create_and_edit_forms_answer_pages_without_internals(world, body):
    s, cid = world["A"], world["a_cust"]["id"]
    token = s.csrf(f"/app/customers/{cid}")
    for path in ("/app/customers/new", f"/app/customers/{cid}/edit"):
        r = s.post(path, data=dict(body, csrf_token=token))
        assert r.status_code in (303, 403, 409, 413, 422), (path, r.status_code, body)
        assert_no_leak(r)
        assert "<script>alert(1)</script>" not in r.text  # escaped if echoed


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(("q", "tags", "tags_mode", "type", "tier", "region",
                                        "industry", "owner_id", "sort", "page")), TEXT,
                       max_size=6))
def test_fuzzed_list_filters_answer_pages_without_internals(world, args):
    # 414: the HTTP server's own limit on a request line (8 KB), before any route runs
    r = world["A"].get("/app/customers", params=args)
    assert r.status_code in (200, 414, 422), (r.status_code, args)
    assert "Traceback" not in r.text and 'File "/' not in r.text
    if r.status_code != 414:
        assert_no_leak(r)
    r = world["A"].get("/app/customers/export.csv", params=args)
    assert r.status_code in (200, 414, 422), (r.status_code, args)
    assert "Traceback" not in r.text


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(TEXT, st.binary(max_size=64), TEXT)
def test_fuzzed_uploads_and_actions_answer_pages_without_internals(world, name, content, text):
    s, cid = world["A"], world["a_cust"]["id"]
    token = s.csrf(f"/app/customers/{cid}")
    filename = name.replace("\x00", "") or "x"
    r = s.post(f"/app/customers/{cid}/attachments", data={"csrf_token": token},
               files={"file": (filename, content)})
    assert r.status_code in (303, 413, 422), r.status_code
    assert_no_leak(r)
    for path, body in ((f"/app/customers/{cid}/tags", {"tags": text}),
                       (f"/app/customers/{cid}/owner", {"owner_id": text}),
                       ("/app/customers/import", {})):
        r = s.post(path, data=dict(body, csrf_token=token),
                   files={"file": ("rows.csv", content)} if "import" in path else None)
        assert r.status_code in (200, 303, 403, 422), (path, r.status_code)
        assert_no_leak(r)


# --- merging: managers only, confirmed, CSRF-checked -------------------------------------------
def test_staff_never_see_the_merge_form_and_a_forged_merge_is_the_403_page(world, rpc):
    """A staff member's forged POSTs (valid CSRF token: they are signed in) to both
    merge steps answer the 403 page before any call: nothing merged, nothing moved,
    and the other customer's name is not revealed by the check step."""
    a = world["a"]
    with rpc(actor(a)) as p:
        keep = p.customers.create_customer(data.customer(tags=["保留"]))
        other = p.customers.create_customer(data.customer(tags=["被并"]))
    s, path = world["A"], f"/app/customers/{keep['id']}"
    page = s.get(path).text
    assert 'id="merge-form"' not in page and "/merge" not in page
    for step, typed in (("/merge", str(other["id"])), ("/merge", world["b_cust"]["uscc"]),
                        ("/merge/confirm", str(other["id"])),
                        ("/merge/confirm", str(world["b_cust"]["id"]))):
        r = s.post_form(path + step, {"merge_id": typed}, csrf_from=path)
        assert r.status_code == 403 and "text/html" in r.headers["Content-Type"], step
        assert_no_leak(r)
        assert world["b_cust"]["name"] not in r.text and other["name"] not in r.text
    with rpc(actor(a)) as p:
        assert p.customers.get_customer(other["id"])["tags"] == ["被并"]  # not merged
        kept = p.customers.get_customer(keep["id"])
    assert kept["tags"] == ["保留"] and kept["version"] == keep["version"]
    assert [c["mobile"] for c in kept["contacts"]] == [c["mobile"] for c in keep["contacts"]]


def test_a_managers_merge_without_the_csrf_token_writes_nothing(world, rpc):
    with rpc(actor(world["a"])) as p:
        keep = p.customers.create_customer(data.customer())
        other = p.customers.create_customer(data.customer())
    m, path = world["M"], f"/app/customers/{keep['id']}"
    for token in (None, "0" * 64, world["A"].csrf()):
        body = {"merge_id": str(other["id"])}
        if token is not None:
            body["csrf_token"] = token
        r = m.post(path + "/merge/confirm", data=body)
        assert r.status_code == 403 and "表单已失效" in r.text
    with rpc(actor(world["a"])) as p:
        assert p.customers.get_customer(other["id"])["id"] == other["id"]  # still live


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=40))
def test_fuzzed_merge_ids_answer_pages_without_internals(world, typed):
    cid = world["a_cust"]["id"]
    path = f"/app/customers/{cid}"
    r = world["M"].post_form(path + "/merge", {"merge_id": typed}, csrf_from=path)
    assert r.status_code in (200, 422), (typed, r.status_code)
    assert_no_leak(r)
