"""Mobiles hold ASCII digits only: digits typed in any script are folded to
ASCII by the rule the sensitive-data scanner uses (issue 16 item 5).

Digit values come from the Unicode code charts (each decimal block's zero code
point), not from the folding code under test.
"""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.identifiers import normalize_mobile
from services.common.schemas import load
from services.common.sensitive import scan_text
from services.common.unicode_digits import fold
from services.customers.schemas import CustomerInSchema
from tests.support import standards as ref

ZEROS = [0x30, 0xFF10, 0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0x1D7CE, 0x1D7EC]


@pytest.mark.parametrize("typed", [
    "13８00138000",              # the sample: one full-width digit
    "１３８００１３８０００",       # all full width
    "١٣٨٠٠١٣٨٠٠٠",               # Arabic-Indic
    "۱۳۸۰۰۱۳۸۰۰۰",               # Extended Arabic-Indic (Persian)
    "१३८००१३८०००",               # Devanagari
    "＋８６ １３８ ００１３ ８０００",  # full-width plus and digits, ideographic space
    "138\u00a00013\u00a08000",   # NBSP
    "138\u200b0013\u200b8000",   # zero-width spaces
])
def test_any_digit_script_is_stored_as_ascii(typed):
    assert normalize_mobile(typed) == "13800138000"


@pytest.mark.parametrize("bad", ["1380013800", "23800138000", "138001380001", "13800l38000",
                                 "¹³⁸⁰⁰¹³⁸⁰⁰⁰x", "12800138000", ""])
def test_not_a_mobile_is_refused(bad):
    with pytest.raises(ValueError):
        normalize_mobile(bad)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A1[3-9][0-9]{9}\Z"), st.lists(st.sampled_from(ZEROS), min_size=11,
                                                        max_size=11))
def test_property_mobile_in_mixed_scripts(mobile, zeros):
    typed = "".join(chr(z + int(d)) for z, d in zip(zeros, mobile, strict=True))
    stored = normalize_mobile(typed)
    assert stored == mobile and stored.isascii()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_property_whatever_is_accepted_is_ascii(text):
    try:
        stored = normalize_mobile(text)
    except ValueError:
        return
    assert stored.isascii() and len(stored) == 11 and stored.isdigit()


def test_one_rule_for_scanner_and_validator():
    # the same folding makes the scanner see an Arabic-Indic ID and the
    # validator store an Arabic-Indic mobile as ASCII
    arabic = "".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in ref.RIC_SAMPLE)
    assert fold(arabic) == ref.RIC_SAMPLE
    assert scan_text(arabic) == "resident_id"
    assert normalize_mobile("".join(chr(0x0660 + int(c)) for c in "13800138000")) == "13800138000"


def test_contact_mobile_is_loaded_as_ascii():
    data = {"name": "上海某某机械有限公司", "uscc": ref.uscc(None, "9", "1", "310000"),
            "industry_code": "C35", "type": "potential",
            "contacts": [{"name": "张三", "title": "经理", "mobile": "13８00138000"},
                         {"name": "李四", "title": "经理", "mobile": "١٣٩٠٠١٣٩٠٠٠"}]}
    loaded = load(CustomerInSchema(), data)
    assert [c["mobile"] for c in loaded["contacts"]] == ["13800138000", "13900139000"]


@pytest.mark.parametrize("typed,stored", [("13８00138000", "13800138000"),
                                          ("١٣٨٠٠١٣٨٠٠٠", "13800138000"),
                                          ("０２１－１２３４５６７８", "021-12345678"),
                                          ("wang@example.cn", "wang@example.cn")])
def test_ticket_complainant_contact_keeps_no_non_ascii_digit(typed, stored):
    from services.service_desk.schemas import TicketInSchema
    ticket = {"kind": "complaint", "severity": "high", "customer_id": 1,
              "complainant_name": "王女士", "complainant_contact": typed, "channel": "phone",
              "subject": "设备故障", "description": "无法开机"}
    assert load(TicketInSchema(), ticket)["complainant_contact"] == stored
