"""The workspace's pure pieces: export layout (CSV/XLSX cells, formula neutralising,
Content-Disposition per RFC 6266/5987), keyset batching, the form <-> RPC data."""
import csv
import io
import os
import re
from urllib.parse import unquote

from hypothesis import given
from hypothesis import strategies as st

from services.common.web.forms import Form
from services.customers import export, page_forms
from services.customers.page_messages import translate


def T(key, **kw):  # noqa: N802 - a translator that shows its keys
    return key


def customer(i, **over):
    c = {"id": i, "name": f"客户{i}", "uscc": "91110000600037341L", "industry_code": "I65",
         "region": "北京", "scale": None, "annual_budget": "12.50", "needs": None,
         "source_channel": None, "type": "potential", "owner_id": "u1", "tier": "normal",
         "completeness": 0.5, "lost_reason": None, "updated_at": "2026-12-01T00:00:00+00:00",
         "tags": ["甲", "乙"],
         "contacts": [{"name": "次要", "mobile": "139****0000", "is_primary": False},
                      {"name": "张三", "title": "经理", "mobile": "13800138000",
                       "email": "z@example.cn", "is_primary": True}]}
    c.update(over)
    return c


def test_a_row_flattens_the_primary_contact_and_joins_tags():
    row = export.row(customer(1))
    assert (row["contact_name"], row["contact_title"], row["contact_mobile"],
            row["contact_email"]) == ("张三", "经理", "13800138000", "z@example.cn")
    assert row["tags"] == "甲,乙" and row["annual_budget"] == "12.50"
    assert export.row(customer(2, contacts=[]))["contact_name"] is None


def test_csv_has_a_bom_the_import_header_and_every_row_across_batches():
    batches = {None: {"items": [customer(1), customer(2)], "next_cursor": "2"},
               "2": {"items": [customer(3)], "next_cursor": None}}
    seen = []

    def fetch(cursor):
        seen.append(cursor)
        return batches[cursor]

    body = b"".join(export.csv_chunks(export.customers(fetch)))
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:15] == ["name", "uscc", "industry_code", "region", "scale",
                            "annual_budget", "needs", "source_channel", "type", "owner_id",
                            "tags", "contact_name", "contact_title", "contact_mobile",
                            "contact_email"]
    assert [r[0] for r in rows[1:]] == ["客户1", "客户2", "客户3"] and seen == [None, "2"]


@given(st.text(min_size=1))
def test_no_cell_starts_like_a_formula(text):
    """OWASP CSV injection: a cell starting with = + - @ TAB CR is prefixed with '."""
    safe = export.safe_text(text)
    assert safe[0] not in "=+-@\t\r"
    assert safe == text or safe == "'" + text


def test_xlsx_file_is_a_workbook_and_removed_after_streaming():
    from openpyxl import load_workbook
    path = export.xlsx_file(iter([customer(1, needs="=1+1"), customer(2)]))
    data = b"".join(export.file_chunks(path))
    assert not os.path.exists(path)
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert rows[1][header.index("needs")] == "'=1+1"
    assert sheet.cell(row=2, column=header.index("needs") + 1).data_type == "s"
    assert float(rows[1][header.index("annual_budget")]) == 12.5


def test_content_disposition_follows_rfc_5987():
    # RFC 5987 §3.2.1: UTF-8, percent-encoded; 营 is E8 90 A5, a space %20
    cd = export.disposition("营业执照 1.pdf")
    assert cd == ('attachment; filename="____ 1.pdf"; '
                  "filename*=UTF-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7%201.pdf")
    fallback = re.match(r'attachment; filename="([^"]*)"; ', export.disposition('a"b;c\\d.pdf'))
    assert fallback.group(1) == "a_b_c_d.pdf"
    assert "\r" not in export.disposition("x\r\nSet-Cookie: a=b.pdf")


@given(st.text(min_size=1, max_size=60))
def test_disposition_round_trips_any_name(name):
    cd = export.disposition(name)
    assert "\n" not in cd and "\r" not in cd
    assert unquote(cd.split("filename*=UTF-8''")[1], errors="strict") == name


def test_form_to_data_skips_blank_rows_and_maps_errors_back_to_rows():
    form = Form(values={"name": "北京测试有限公司", "uscc": "91110000600037341L",
                        "industry": "I65 软件和信息技术服务业", "type": "potential",
                        "primary": "2", "contacts.2.name": "张三", "contacts.2.mobile": "1",
                        "contacts.2.title": "经理", "annual_budget": "50"})
    data, positions, own = page_forms.to_data(form, 3, True, T)
    assert own == {} and positions == [2]
    assert data["industry_code"] == "I65" and data["annual_budget"] == "50"
    assert data["contacts"] == [{"name": "张三", "mobile": "1", "title": "经理",
                                 "is_primary": True}]
    errors = page_forms.page_errors({"contacts": {"0": {"mobile": ["bad"]}},
                                     "industry_code": ["x"]}, positions)
    assert errors == {"contacts": {2: {"mobile": ["bad"]}}, "industry": ["x"]}


def test_editing_clears_optional_fields_and_names_emptied_required_ones():
    form = Form(values={"name": "", "uscc": "91110000600037341L", "industry": "",
                        "version": "3", "region": ""})
    data, _, own = page_forms.to_data(form, 3, False, T)
    assert data["region"] is None and data["needs"] is None
    assert data["name"] == "" and data["industry_code"] == "" and data["version"] == 3
    assert "contacts" not in data and own == {}
    _, _, own = page_forms.to_data(Form(values={"version": "x"}), 3, False, T)
    assert own == {"version": ["customers.version.bad"]}


def test_an_unresolved_industry_is_the_pages_own_error_and_sends_no_code():
    data, _, own = page_forms.to_data(Form(values={"industry": "不存在的行业名称"}), 3, True, T)
    assert "industry_code" not in data and own == {"industry": ["customers.industry.none"]}


def test_service_messages_translate_in_chinese_only():
    def t(key, **kw):
        return key if key.startswith("msg:") else f"{key}{kw}"  # no exact entries
    msg = "unified social credit code has a wrong check character"
    assert translate(msg, t, "zh_CN") == "customers.err.uscc_check{}"
    assert translate(msg, t, "en") == msg
    # the generic marshmallow messages are the kit's now (field.err.*)
    assert translate("Length must be between 2 and 200.", t, "zh_CN") == \
        "field.err.length{'min': '2', 'max': '200'}"
    assert translate("something new", t, "zh_CN") == "something new"


def test_customers_field_messages_in_chinese_with_the_kits_generic_ones():
    """page_messages keeps only the service's own patterns; the pages still show
    every message of a create refused by the service in Chinese (texts written here)."""
    from services.common.web import i18n
    from services.customers.page_messages import translate_fields
    zh = i18n.translator("zh_CN", "customers")
    fields = {
        "name": ["Missing data for required field."],
        "uscc": ["unified social credit code has a wrong check character (GB 32100-2015)"],
        "industry_code": ["not a GB/T 4754-2017 industry code"],
        "scale": ["Must be one of: micro, small, medium, large."],
        "annual_budget": ["Must be greater than or equal to 0."],
        "needs": ["Length must be between 1 and 2000."],
        "contacts": {"0": {"mobile": ["mobile must be 11 digits starting 13-19"],
                           "email": ["Not a valid email address."]},
                     "_schema": ["exactly one contact must be the primary contact"]},
        "source_channel": ["Not a valid integer."],
        "other": ["something new"]}
    assert translate_fields(fields, zh, "zh_CN") == {
        "name": ["此项为必填项。"],
        "uscc": ["统一社会信用代码校验位不正确，请核对营业执照"],
        "industry_code": ["请选择国家标准行业分类（GB/T 4754-2017）中的行业"],
        "scale": ["请从列表中选择。"],
        "annual_budget": ["不能小于 0。"],
        "needs": ["长度须在 1 到 2000 个字符之间。"],
        "contacts": {"0": {"mobile": ["手机号应为 11 位数字，以 13-19 开头（中国大陆）"],
                           "email": ["电子邮箱格式不正确。"]},
                     "_schema": ["须选择且只能选择一位主联系人"]},
        "source_channel": ["请输入整数。"],
        "other": ["something new"]}
    en = i18n.translator("en", "customers")
    assert translate_fields(fields, en, "en") == fields
