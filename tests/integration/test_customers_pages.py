"""The customers workspace's pages over HTTP (real gateway, service and broker): the
import page, the form's contact rows and their errors, lost / reactivate, owner
change, tags, languages. Browser-level steps are in tests/e2e; attacks in
tests/security/test_customers_pages.py."""
import base64
import csv
import io
import re
import uuid
from html import unescape

import pytest

from services.common.web.pages import page
from services.customers.gateway import CustomersGateway
from services.customers.service import CustomersService
from tests.support import data
from tests.support.fixtures import actor
from tests.support.web_session import WebSession

pytestmark = pytest.mark.integration
HEADER = ("name,uscc,industry_code,region,scale,annual_budget,needs,source_channel,type,"
          "owner_id,tags,contact_name,contact_title,contact_mobile,contact_email")


@pytest.fixture(scope="module")
def site(module_gateway, config):
    base = module_gateway(CustomersGateway, CustomersService)
    user = f"pg-{uuid.uuid4().hex[:6]}"
    return {"base": base, "user": user, "s": WebSession(base, config, user),
            "m": WebSession(base, config, f"pg-m-{uuid.uuid4().hex[:4]}", "manager",
                            "management")}


def own_customer(rpc, site, **over):
    with rpc(actor(site["user"])) as p:
        return p.customers.create_customer(data.customer(**over))


def text_of(html):
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_import_page_reports_each_bad_row_and_saves_the_good_ones(site, rpc):
    tag = f"导入{uuid.uuid4().hex[:4]}"
    good1, good2 = data.uscc(), data.uscc()
    bad = good1[:-1] + ("0" if good1[-1] != "0" else "1")  # another check character
    rows = [f"导入甲有限公司{tag},{good1},C35,上海,small,50,,展会,potential,,{tag},张三,经理,"
            "13800138000,",
            f"导入乙有限公司{tag},{bad},C35,上海,,,,,potential,,{tag},李四,经理,13800138001,",
            f"导入丙有限公司{tag},{good2},I65,北京,,,,,closed,,{tag},王五,总经理,13800138002,"]
    body = ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")
    s = site["s"]
    r = s.post_form("/app/customers/import", {}, files={"file": ("c.csv", body)},
                    csrf_from="/app/customers/import")
    assert r.status_code == 200
    page = text_of(r.text)
    assert "共 3 行：新建 2，更新 0，出错 1" in page
    errors = re.search(r'<table class="table" id="import-errors">(.*?)</table>', r.text, re.S)
    assert re.search(r"<td>2</td><td class=\"mono\">uscc</td>", errors.group(1))
    report = re.search(r'href="data:text/csv;charset=utf-8;base64,([^"]+)"', r.text).group(1)
    lines = list(csv.reader(io.StringIO(base64.b64decode(report).decode("utf-8-sig"))))
    assert lines[0][:4] == ["row", "field", "message", "name"]
    assert [(x[0], x[1], x[4]) for x in lines[1:]] == [("2", "uscc", bad)]
    with rpc(actor(site["user"])) as p:
        found = p.customers.list_customers({"tags_all": [tag]})
    assert sorted(c["uscc"] for c in found["items"]) == sorted([good1, good2])


def test_import_page_refuses_a_file_without_the_required_columns(site):
    r = site["s"].post_form("/app/customers/import", {},
                            files={"file": ("c.csv", b"name,uscc\nx,y\n")},
                            csrf_from="/app/customers/import")
    assert r.status_code == 422
    assert ("missing columns: industry_code, type, contact_name, contact_title, "
            "contact_mobile") in r.text
    assert 'id="import-columns"' in r.text  # the format is documented on the page


def test_add_row_posts_back_with_one_more_row_and_saves_nothing(site, rpc):
    name = f"加行测试有限公司{uuid.uuid4().hex[:4]}"
    r = site["s"].post_form("/app/customers/new", {"name": name, "rows": "3", "add_row": "1",
                                                   "contacts.0.name": "张三"})
    assert r.status_code == 200
    assert 'id="f-contacts-3-name"' in r.text and 'id="f-contacts-4-name"' not in r.text
    assert f'value="{name}"' in r.text and 'value="张三"' in r.text
    with rpc(actor(site["user"])) as p:
        assert p.customers.list_customers({"q": name})["total"] == 0


def test_contact_errors_land_on_the_row_the_user_typed_in(site, rpc):
    name = f"联系人行测试有限公司{uuid.uuid4().hex[:4]}"
    r = site["s"].post_form("/app/customers/new", {
        "name": name, "uscc": data.uscc(), "industry": "C35", "type": "potential",
        "rows": "3", "primary": "1",  # row 0 left blank
        "contacts.1.name": "李四", "contacts.1.title": "经理", "contacts.1.mobile": "12345"})
    assert r.status_code == 422
    cell = re.search(r'<td class="field--error">\s*<p class="field-error">([^<]+)</p>\s*'
                     r'<input id="f-contacts-1-mobile"', r.text)
    assert cell and "手机号应为 11 位数字" in cell.group(1)
    with rpc(actor(site["user"])) as p:
        assert p.customers.list_customers({"q": name})["total"] == 0


def test_industry_by_name_and_ambiguous_names(site, rpc):
    s = site["s"]
    r = s.get("/app/customers", params={"industry": "专用设备"})
    assert r.status_code == 422 and "C35 专用设备制造业" in unescape(r.text)
    r = s.get("/app/customers", params={"industry": "软件和信息技术服务业"})
    assert r.status_code == 200
    name = f"行业名称测试有限公司{uuid.uuid4().hex[:4]}"
    r = s.post_form("/app/customers/new", {
        "name": name, "uscc": data.uscc(), "industry": "软件和信息技术服务业",
        "type": "potential", "rows": "3", "primary": "0", "contacts.0.name": "张三",
        "contacts.0.title": "经理", "contacts.0.mobile": "13800138000"})
    assert r.status_code == 303
    with rpc(actor(site["user"])) as p:
        assert p.customers.list_customers({"q": name})["items"][0]["industry_code"] == "I65"


def test_lost_with_a_reason_then_reactivate(site, rpc):
    c = own_customer(rpc, site)
    s, path = site["s"], f"/app/customers/{c['id']}"
    r = s.post_form(path + "/lost", {"reason_code": ""}, csrf_from=path)
    assert r.status_code == 422 and 'id="f-reason_code"' in r.text
    r = s.post_form(path + "/lost", {"reason_code": "competitor", "note": "选了别家"},
                    csrf_from=path)
    assert r.status_code == 303 and r.headers["Location"] == path
    page = s.get(path).text
    assert "流失客户" in page and "竞争对手" in page and "选了别家" in page
    r = s.post_form(path + "/reactivate", {}, csrf_from=path)
    assert r.status_code == 303
    with rpc(actor(site["user"])) as p:
        assert p.customers.get_customer(c["id"])["type"] == "potential"
    history = text_of(s.get(path).text)
    assert "标记流失" in history and "重新激活" in history and "校验通过" in history
    # reactivating again (a second tab) is the 409 page, its detail in the page's language
    r = s.post_form(path + "/reactivate", {}, csrf_from=path)
    assert r.status_code == 409 and 'id="error-409"' in r.text
    assert "只有流失客户才能重新激活" in text_of(r.text)
    assert "only a lost customer can be reactivated" not in r.text


STALE = "the customer was changed by someone else; reload and retry"


def test_a_stale_save_is_the_conflict_page_in_the_pages_language(site, config, rpc):
    """Two tabs edit one customer: the second save carries the old version and gets
    the 409 page; on a zh-CN page its detail is the catalogue's, never the
    service's English line (docs/screenshots/customers-conflict.png)."""
    mine = own_customer(rpc, site)
    path = f"/app/customers/{mine['id']}"
    values = {"name": mine["name"], "uscc": mine["uscc"], "industry": "C35",
              "region": "上海", "type": "potential", "version": str(mine["version"]),
              "rows": "3", "primary": "0", "contacts.0.name": "王芳",
              "contacts.0.title": "采购经理", "contacts.0.mobile": unique_mobile()}
    s = site["s"]
    assert s.post_form(path + "/edit", values, csrf_from=path + "/edit").status_code == 303
    r = s.post_form(path + "/edit", dict(values, needs="第二个标签页"),
                    csrf_from=path + "/edit")
    assert r.status_code == 409 and 'id="error-409"' in r.text
    page = text_of(r.text)
    assert "记录已被修改" in page and "其他人修改了这条记录" in page
    assert "详情: 其他人已修改了这个客户，请重新加载后再修改。" in page
    assert STALE not in r.text and "reload and retry" not in r.text
    with rpc(actor(site["user"])) as p:
        assert p.customers.get_customer(mine["id"])["needs"] != "第二个标签页"
    # in English the page's own words, the detail in English
    en = WebSession(site["base"], config, site["user"])
    en.get(path + "?lang=en")
    r = en.post_form(path + "/edit", values, csrf_from=path + "/edit")
    assert r.status_code == 409 and "Someone changed this record" in r.text
    assert "其他人" not in text_of(r.text)


def test_owner_change_is_for_managers(site, rpc):
    c = own_customer(rpc, site)
    path = f"/app/customers/{c['id']}"
    assert 'action="' + path + '/owner"' not in site["s"].get(path).text
    r = site["s"].post_form(path + "/owner", {"owner_id": "someone"}, csrf_from=path)
    assert r.status_code == 403
    r = site["m"].post_form(path + "/owner", {"owner_id": "pg-new-owner"}, csrf_from=path)
    assert r.status_code == 303
    with rpc(actor("pg-new-owner")) as p:
        assert p.customers.get_customer(c["id"])["owner_id"] == "pg-new-owner"
    assert site["s"].get(path).status_code == 404  # no longer the old owner's


def test_tags_add_and_remove(site, rpc):
    c = own_customer(rpc, site, tags=["老客户"])
    s, path = site["s"], f"/app/customers/{c['id']}"
    assert s.post_form(path + "/tags", {"tags": "高潜力客户，投诉风险"},
                       csrf_from=path).status_code == 303
    assert s.post_form(path + "/tags/remove", {"tag": "老客户"},
                       csrf_from=path).status_code == 303
    with rpc(actor(site["user"])) as p:
        assert p.customers.get_customer(c["id"])["tags"] == sorted(["投诉风险", "高潜力客户"])
    r = s.post_form(path + "/tags", {"tags": "x" * 40}, csrf_from=path)
    assert r.status_code == 422 and 'id="f-tags"' in r.text


def test_pages_in_english(site, config):
    s = WebSession(site["base"], config, site["user"])  # its own cookie jar: crm_lang=en
    r = s.get("/app/customers?lang=en")
    assert r.status_code == 200 and "<h1>Customers" in r.text
    assert "crm_lang=en" in r.headers.get("Set-Cookie", "")


def test_upload_checks_are_the_apis(site, rpc):
    """.pdf/.jpg by content, at most 5 MB (5 × 1024 × 1024 bytes, the policy's 5MB):
    refusals are messages next to the file field, and nothing is stored."""
    c = own_customer(rpc, site)
    s, path = site["s"], f"/app/customers/{c['id']}"
    limit = 5 * 1024 * 1024
    cases = [("big.pdf", b"%PDF-" + b"0" * (limit - 4), 413, "文件超过 5MB"),
             ("fake.pdf", b"MZ\x90\x00 not a pdf", 422, "文件内容与扩展名不符"),
             ("run.exe", b"%PDF-1.4", 422, "只接受 .pdf 和 .jpg 文件")]
    for name, content, status, message in cases:
        r = s.post_form(path + "/attachments", {}, files={"file": (name, content)},
                        csrf_from=path)
        assert r.status_code == status, (name, r.status_code)
        field = re.search(r'<div class="field field--error">.*?id="f-file"', r.text, re.S)
        assert field and message in field.group(0), name
    exactly = b"%PDF-" + b"0" * (limit - 5)
    assert s.post_form(path + "/attachments", {}, files={"file": ("ok.pdf", exactly)},
                       csrf_from=path).status_code == 303
    with rpc(actor(site["user"])) as p:
        assert [a["filename"] for a in p.customers.list_attachments(c["id"])] == ["ok.pdf"]


def test_type_tabs_count_the_filtered_list(site, rpc):
    region = f"计数{uuid.uuid4().hex[:4]}"
    with rpc(actor(site["user"])) as p:
        for kind in ("potential", "potential", "closed", "closed", "closed"):
            made = p.customers.create_customer(data.customer(region=region, tags=[region],
                                                             type=kind))
        p.customers.mark_lost(made["id"], "price", None)
    html = site["s"].get("/app/customers", params={"region": region, "type": "closed"}).text
    counts = dict(re.findall(r'data-type="(\w+)">[^<]*<span class="count">(\d+)</span>', html))
    assert counts == {"all": "5", "potential": "2", "closed": "2", "lost": "1"}
    assert re.search(r'aria-current="page" class="current" data-type="closed"', html)
    assert html.count("<tr data-id=") == 2
    # a search or tag filter counts only the list shown (one query, not four)
    html = site["s"].get("/app/customers", params={"tags": region, "type": "closed"}).text
    counts = dict(re.findall(r'data-type="(\w+)">[^<]*<span class="count">(\d+)</span>', html))
    assert counts == {"closed": "2"} and html.count("<tr data-id=") == 2


# --- likely duplicates, merged ids, merging (docs/customers_duplicates.md) ---------------------
def unique_mobile(prefix="136"):
    return f"{prefix}{uuid.uuid4().int % 10 ** 8:08d}"


def follow(s, r):
    """The page a redirect leads to (the flash cookie goes along)."""
    assert r.status_code == 303, (r.status_code, r.text[:300])
    return s.get(r.headers["Location"])


def flash_links(html):
    box = re.search(r'<ul class="flash__details" id="flash-details">(.*?)</ul>', html, re.S)
    assert box, html[:2000]
    return [(href, unescape(text)) for href, text in
            re.findall(r'<a href="([^"]+)">([^<]+)</a>', box.group(1))]


def test_create_and_update_show_likely_duplicates_linking_to_them(site, rpc):
    """A warning per likely duplicate (id, company name, reason in the page's
    language) under the saved-flash, linking to /app/customers/<id>; someone else's
    customer there is the 404 page (only its id and name are shown)."""
    tag = uuid.uuid4().hex[:6]
    mobile = unique_mobile("137")
    with rpc(actor("pg-dup-other")) as p:
        theirs = p.customers.create_customer(data.customer(
            name=f"上海蓝天{tag}科技有限公司", contacts=[{
                "name": "赵六", "title": "经理", "mobile": mobile, "is_primary": True}]))
    s = site["s"]
    r = s.post_form("/app/customers/new", {
        "name": f"上海蓝天{tag}科技有限责任公司", "uscc": data.uscc(), "industry": "C35",
        "region": "上海", "type": "potential", "rows": "3", "primary": "0",
        "contacts.0.name": "张三", "contacts.0.title": "经理",
        "contacts.0.mobile": unique_mobile()})
    page = follow(s, r)
    assert page.status_code == 200 and 'class="flash flash--warning"' in page.text
    assert "客户已保存" in text_of(page.text)
    assert "发现 1 个可能重复的客户" in text_of(page.text)
    assert flash_links(page.text) == [
        (f"/app/customers/{theirs['id']}",
         f"#{theirs['id']} 上海蓝天{tag}科技有限公司（名称相同）")]
    assert s.get(f"/app/customers/{theirs['id']}").status_code == 404
    assert mobile not in page.text
    # an update that gives a contact the other customer's mobile
    mine = own_customer(rpc, site, name=f"毫不相干{tag}贸易有限公司")
    values = {"name": mine["name"], "uscc": mine["uscc"], "industry": "C35",
              "region": "上海", "type": "potential", "version": str(mine["version"]),
              "rows": "3", "primary": "0", "contacts.0.name": "王芳",
              "contacts.0.title": "采购经理", "contacts.0.mobile": mobile}
    path = f"/app/customers/{mine['id']}"
    page = follow(s, s.post_form(path + "/edit", values, csrf_from=path + "/edit"))
    assert flash_links(page.text) == [
        (f"/app/customers/{theirs['id']}",
         f"#{theirs['id']} 上海蓝天{tag}科技有限公司（联系人手机号相同）")]
    # a save without likely duplicates: the plain success flash, no list
    values.update({"contacts.0.mobile": unique_mobile(), "version": str(mine["version"] + 1)})
    page = follow(s, s.post_form(path + "/edit", values, csrf_from=path + "/edit"))
    assert 'class="flash flash--success"' in page.text and "flash-details" not in page.text


def test_duplicate_warnings_in_english(site, config, rpc):
    tag = uuid.uuid4().hex[:6]
    with rpc(actor("pg-dup-other")) as p:
        theirs = p.customers.create_customer(data.customer(name=f"北京白云{tag}软件有限公司",
                                                           region="北京"))
    s = WebSession(site["base"], config, site["user"])
    s.get("/app/customers?lang=en")
    r = s.post_form("/app/customers/new", {
        "name": f"北京白云{tag}软件有限公司", "uscc": data.uscc(), "industry": "I65",
        "region": "北京", "type": "potential", "rows": "3", "primary": "0",
        "contacts.0.name": "Li", "contacts.0.title": "CTO",
        "contacts.0.mobile": unique_mobile()})
    page = follow(s, r)
    assert "1 customer(s) may be the same company" in text_of(page.text)
    assert flash_links(page.text) == [
        (f"/app/customers/{theirs['id']}",
         f"#{theirs['id']} 北京白云{tag}软件有限公司 (same name)")]


def test_import_page_lists_likely_duplicates_per_row(site, rpc):
    tag = uuid.uuid4().hex[:6]
    with rpc(actor("pg-dup-other")) as p:
        theirs = p.customers.create_customer(data.customer(name=f"上海绿洲{tag}科技有限公司",
                                                           region="上海"))
    rows = [f"上海绿洲{tag}科技有限责任公司,{data.uscc()},C35,上海,,,,,potential,,,张三,经理,"
            f"1380013{uuid.uuid4().int % 10 ** 4:04d},",
            f"绿洲{tag}科技（上海）集团有限公司,{data.uscc()},C35,上海市,,,,,potential,,,李四,经理,"
            f"1390013{uuid.uuid4().int % 10 ** 4:04d},",
            f"完全无关{tag}餐饮有限公司,{data.uscc()},H62,广州,,,,,potential,,,王五,经理,"
            f"1370013{uuid.uuid4().int % 10 ** 4:04d},"]
    body = ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")
    r = site["s"].post_form("/app/customers/import", {}, files={"file": ("d.csv", body)},
                            csrf_from="/app/customers/import")
    assert r.status_code == 200 and "新建 3" in text_of(r.text)
    table = re.search(r'<table class="table" id="import-duplicates"[^>]*>(.*?)</table>',
                      r.text, re.S).group(1)
    found = {(int(row), int(cid), unescape(name), reason) for row, cid, name, reason in
             re.findall(r'<tr><td>(\d+)</td><td><a href="/app/customers/(\d+)">#\d+ ([^<]+)'
                        r'</a></td><td>([^<]+)</td></tr>', table)}
    assert (1, theirs["id"], theirs["name"], "名称相同") in found
    assert (2, theirs["id"], theirs["name"], "名称相近且地区相同") in found
    assert not any(row == 3 for row, *_ in found)


def merged_pair(rpc, site):
    """Two of the staff user's customers, the second merged into the first by a manager."""
    keep, gone = own_customer(rpc, site), own_customer(rpc, site)
    with rpc(actor(site["user"])) as p:
        att = p.customers.add_attachment(gone["id"], "证照.pdf",
                                         base64.b64encode(b"%PDF-1.4 merged").decode())
    with rpc(actor("pg-merge-m", "manager", "management")) as p:
        p.customers.merge_customers(keep["id"], gone["id"])
    return keep, gone, att


def test_a_merged_id_leads_to_the_kept_customer(site, rpc):
    keep, gone, att = merged_pair(rpc, site)
    s, old, new = site["s"], f"/app/customers/{gone['id']}", f"/app/customers/{keep['id']}"
    for sub in ("", "/edit", f"/attachments/{att['id']}"):
        r = s.get(old + sub, params={"lang": "zh_CN"}, allow_redirects=False)
        assert r.status_code == 303 and r.headers["Location"] == f"{new}{sub}?lang=zh_CN", sub
    page = follow(s, s.get(old, allow_redirects=False))
    assert page.status_code == 200 and 'class="flash flash--warning"' in page.text
    assert f"客户 #{gone['id']} 已合并到客户 #{keep['id']}" in text_of(page.text)
    assert f"<h1>{keep['name']}" in page.text
    download = s.get(old + f"/attachments/{att['id']}")  # followed
    assert download.status_code == 200 and download.content == b"%PDF-1.4 merged"
    # a state change on the merged id saves nothing and goes to the kept customer
    r = s.post_form(old + "/tags", {"tags": "合并后"}, csrf_from=new)
    assert r.status_code == 303 and r.headers["Location"] == new
    assert "未保存任何修改" in text_of(s.get(new).text)
    with rpc(actor(site["user"])) as p:
        assert "合并后" not in p.customers.get_customer(keep["id"])["tags"]


def test_manager_merges_by_uscc_after_a_confirm_step(site, rpc):
    keep, other = own_customer(rpc, site), own_customer(rpc, site, tags=["并入标签"])
    m, path = site["m"], f"/app/customers/{keep['id']}"
    assert 'id="merge-form"' in m.get(path).text
    r = m.post_form(path + "/merge", {"merge_id": other["uscc"].lower()}, csrf_from=path)
    assert r.status_code == 200
    pair = text_of(r.text)
    assert keep["name"] in pair and other["name"] in pair and "此操作无法撤销" in pair
    assert f'name="merge_id" value="{other["id"]}"' in r.text
    with rpc(actor(site["user"])) as p:  # the check step wrote nothing
        assert p.customers.get_customer(other["id"])["id"] == other["id"]
    r = m.post_form(path + "/merge/confirm", {"merge_id": str(other["id"])}, csrf_from=path)
    page = follow(m, r)
    assert f"已将客户 #{other['id']}（{other['name']}）合并到此客户" in text_of(page.text)
    history = re.search(r'<table class="table" id="history">(.*?)</table>', page.text, re.S)
    shown = text_of(history.group(1))
    for words in ("合并", "被合并", "并入的客户", "合并到客户"):  # both records' entries
        assert words in shown, words
    assert "customers.action." not in shown and "merged_from" not in shown
    assert re.search(rf'<span class="merged-from"[^>]*>#{other["id"]} · </span>1</td>',
                     history.group(1))  # the merged record's own entries say whose they are
    from services.common.errors import Merged
    with rpc(actor(site["user"])) as p:
        assert "并入标签" in p.customers.get_customer(keep["id"])["tags"]
        with pytest.raises(Merged) as info:
            p.customers.get_customer(other["id"])
    assert info.value.kept_id == keep["id"]
    # a second confirm (back button) says it is done, and changes nothing
    r = m.post_form(path + "/merge/confirm", {"merge_id": str(other["id"])}, csrf_from=path)
    assert r.status_code == 303 and r.headers["Location"] == path


@pytest.mark.parametrize("typed,message", [
    ("", "请填写客户编号或统一社会信用代码"),
    ("abc", "请填写客户编号（数字）或 18 位统一社会信用代码"),
    ("999999999", "找不到该客户"), ("SELF", "不能把客户合并到自身"),
    ("91310000MA1FL0000X", "找不到该客户")])
def test_merge_form_errors_are_next_to_the_field(site, rpc, typed, message):
    keep = own_customer(rpc, site)
    m, path = site["m"], f"/app/customers/{keep['id']}"
    typed = str(keep["id"]) if typed == "SELF" else typed
    r = m.post_form(path + "/merge", {"merge_id": typed}, csrf_from=path)
    assert r.status_code == 422
    field = re.search(r'<div class="field field--error">.*?id="f-merge_id"', r.text, re.S)
    assert field and message in unescape(field.group(0))


def test_merging_an_already_merged_customer_is_a_field_error(site, rpc):
    keep, gone, _ = merged_pair(rpc, site)
    third = own_customer(rpc, site)
    m, path = site["m"], f"/app/customers/{third['id']}"
    r = m.post_form(path + "/merge", {"merge_id": str(gone["id"])}, csrf_from=path)
    assert r.status_code == 422
    assert f"客户 #{gone['id']} 已合并到客户 #{keep['id']}" in text_of(r.text)


# --- an undeclared error under a page: the kit's real 500 page -----------------------------------
class BrokenPages(CustomersGateway):
    """The customers gateway with pages failing in undeclared ways."""

    @page("GET", "/app/customers/broken/remote")
    def broken_remote_page(self, request):
        return self.call(self.customers, "no_such_method")  # the bus answers an error

    @page("GET", "/app/customers/broken/local")
    def broken_local_page(self, request):
        raise RuntimeError("secret internals at /srv/app.py")

    @page("POST", "/app/customers/broken/form", form_template="customers/form.html",
          form_context=lambda self, request: {})  # the form's context is incomplete
    def broken_form_page(self, request):
        self.call(self.customers, "create_customer", {})


@pytest.fixture(scope="module")
def broken(site, module_gateway):
    return module_gateway(BrokenPages)  # on the running customers service


@pytest.mark.parametrize("path", ["remote", "local", "local?lang=en&q=%00", "form"])
def test_an_undeclared_error_is_the_real_500_page(broken, config, path, caplog):
    s = WebSession(broken, config, "u1")
    if path == "form":
        r = s.post_form("/app/customers/broken/form", {"name": ""})
    else:
        r = s.get(f"/app/customers/broken/{path}")
    assert r.status_code == 500 and r.headers["Content-Type"].startswith("text/html")
    for part in ('class="site-header"', 'class="site-footer', 'id="error-500"', "王芳",
                 "/static/kit.css"):
        assert part in r.text, part
    assert ("系统出错" if "en" not in path else 'lang="en"') in r.text
    for secret in ("Traceback", "secret internals", "/srv", "no_such_method", "MethodNotFound"):
        assert secret not in r.text
    assert "error page failed" not in caplog.text
