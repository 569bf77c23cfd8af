"""The sensitive-data scanner against GB 11643 / ISO 7812 / GB 32100 references.

Every expected value comes from tests/support/standards.py (written from the
standards) or from a standard's published sample, never from python-stdnum
nor from the scanner's own code.
"""
import datetime as dt
import random
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.errors import ValidationError
from services.common.schemas import load
from services.common.sensitive import scan, scan_text
from services.customers.schemas import CustomerInSchema
from tests.support import standards as ref

SAMPLE = ref.RIC_SAMPLE  # 11010519491231002X, published in GB 11643-1999
ISSUE_SAMPLES = ["110101199003074477", "440308199901010012"]  # issue 16
PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Zero of each decimal digit block (Unicode code charts), so digit d is chr(zero + d).
DIGIT_ZEROS = {"ascii": 0x30, "fullwidth": 0xFF10, "arabic_indic": 0x0660,
               "extended_arabic_indic": 0x06F0, "devanagari": 0x0966, "bengali": 0x09E6,
               "thai": 0x0E50, "mathematical_bold": 0x1D7CE}


def in_script(value, script):
    zero = DIGIT_ZEROS[script]
    return "".join(chr(zero + int(c)) if c.isdigit() else c for c in value)


def expected(token):
    """What the scanner must say about one bare token, from the references."""
    if ref.is_resident_id(token):
        return "resident_id"
    if 16 <= len(token) <= 19 and ref.luhn_valid(token) and not ref.is_uscc(token):
        return "bank_card"
    return None


def rng():
    return random.Random(uuid.uuid4().int)


# --- fixed cases: the published sample and the issue's samples ---------------

def test_reference_agrees_with_the_published_sample():
    assert ref.is_resident_id(SAMPLE) and ref.ric_check_char(SAMPLE[:17]) == "X"
    assert all(ref.is_resident_id(s) for s in ISSUE_SAMPLES)
    assert not ref.is_resident_id("110105194912310022")  # the old tests' "valid" ID
    # Luhn's classic worked example (ISO/IEC 7812-1 annex): 7992739871 -> check 3
    assert ref.luhn_check_digit("7992739871") == "3" and ref.luhn_valid("79927398713")
    assert not ref.luhn_valid("79927398710")
    finds = ref.find_ids_and_cards(f"x {ref.grouped(ref.fullwidth(SAMPLE), chr(0x3000))} y")
    assert finds == [("resident_id", SAMPLE)]


@pytest.mark.parametrize("text", [SAMPLE, SAMPLE.lower(), f"法人身份证 {SAMPLE}",
                                  f"法人身份证{SAMPLE.lower()}，请核对", *ISSUE_SAMPLES,
                                  f"客户 {ISSUE_SAMPLES[0]} 和 {ISSUE_SAMPLES[1]}",
                                  f"ID{SAMPLE}", f"No.{SAMPLE}"])
def test_published_and_issue_samples_are_resident_ids(text):
    assert scan_text(text) == "resident_id"


@pytest.mark.parametrize("text", [
    "1101 0519 4912 3100 2X",                       # the issue's grouping
    "1101\u00a00519\u00a04912\u00a03100\u00a02X",   # NBSP
    "1101\u30000519\u30004912\u30003100\u30002X",   # ideographic space
    "110105.19491231.002X", "110105-19491231-002X", "110105 1949 1231 002x",
    "110105\u201319491231\u2013002X",               # en dash
    "1101\u200b0519\u200b4912\u200b3100\u200b2X",   # zero-width spaces
    "１１０１０５１９４９１２３１００２Ｘ", "１１０１０５１９４９１２３１００２ｘ",  # full width
    "电话 13800138000 1101 0519 4912 3100 2X",       # next to another number
])
def test_sample_in_every_typed_form(text):
    assert scan_text(text) == "resident_id"


@pytest.mark.parametrize("script", sorted(DIGIT_ZEROS))
def test_sample_in_any_digit_script(script):
    assert scan_text(in_script(SAMPLE, script)) == "resident_id"
    assert scan_text("身份证 " + in_script("11010519491231002", script) + "x") == "resident_id"


def test_lowercase_x_is_an_id():
    # the assertion `in ("resident_id", None)` that stood here could not fail
    value = ref.resident_id_x(rng())
    assert scan_text(value.lower()) == "resident_id"


def test_wrong_check_character_is_not_an_id():
    body = SAMPLE[:17]
    for wrong in "0123456789":
        assert scan_text(body + wrong) == expected(body + wrong) != "resident_id"


def test_unreal_or_future_birth_date_is_not_an_id():
    future = (dt.date.today() + dt.timedelta(days=400)).strftime("%Y%m%d")
    for born in ("19491332", "19490230", future, "18991231"):
        body = "110105" + born + "002"
        value = body + ref.ric_check_char(body)
        assert not ref.is_resident_id(value)
        assert scan_text(value) == expected(value) != "resident_id"


def test_unknown_birthplace_code_still_caught():
    value = ref.resident_id(rng(), address="990000")
    assert scan_text(value) == "resident_id"


def test_first_generation_15_digit_ids():
    assert scan_text("身份证 110105491231002") == "resident_id"  # 1949-12-31
    assert scan_text("110105 491231 002") == "resident_id"
    assert scan_text("１１０１０５４９１２３１００２") == "resident_id"
    assert scan_text("110105491331002") is None  # month 13
    assert scan_text("110105490230002") is None  # 30 February


# --- bank cards ------------------------------------------------------------------

@pytest.mark.parametrize("sep", ["", " ", "-", ".", "\u00a0", "\u3000", "\u2009", "\u202f"])
def test_bank_card_grouped_with_any_separator(sep):
    card = ref.bank_card(rng(), length=16)
    assert scan_text(f"卡号{ref.grouped(card, sep)}") == expected(card) == "bank_card"


@pytest.mark.parametrize("length", [16, 17, 18, 19])
def test_bank_card_every_length_and_full_width(length):
    card = next(c for c in iter(lambda: ref.bank_card(rng(), length), None) if expected(c))
    assert scan_text(card) == expected(card)
    assert scan_text(ref.fullwidth(card)) == expected(card)
    assert scan_text("卡号：" + ref.grouped(ref.fullwidth(card), "\u3000")) == expected(card)


def test_luhn_invalid_number_is_not_a_card():
    for _ in range(200):
        wrong = ref.bank_card_wrong_check(rng())
        assert not ref.luhn_valid(wrong)
        assert scan_text(wrong) == expected(wrong) != "bank_card"


def test_all_digit_uscc_is_not_a_card():
    r = rng()
    for _ in range(300):
        code = ref.uscc(r, digits_only=True)
        assert scan_text(f"统一社会信用代码 {code}") == expected(code) != "bank_card"


def test_uuids_and_hashes_are_not_cards():
    for _ in range(2000):
        assert scan_text(str(uuid.uuid4())) is None
    assert scan_text("12345678-1234-1234-1234-123456789012") is None


# --- long numeric ids: what docs/KIT.md ("Sensitive data") promises -----------

def test_unbroken_runs_of_20_or_more_digits_are_never_cards():
    r = rng()
    for n in range(20, 33):
        order_no = "".join(str(r.randrange(10)) for _ in range(n))
        assert scan_text(f"订单号 {order_no}") is None


def test_numbers_glued_to_letters_are_not_cards():
    card = ref.bank_card(rng(), length=16)
    assert scan_text(f"SO{card}") is None and scan_text(f"{card}A") is None
    assert scan_text(f"order-{card}") is None and scan_text(f"{card}.v2") is None


def test_bare_luhn_valid_16_digit_order_number_is_refused_as_a_card():
    # the scanner cannot tell an order number from a card: documented, not hidden
    order_no = "2024" + "".join(str(random.randrange(10)) for _ in range(11))
    order_no += ref.luhn_check_digit(order_no)
    assert scan_text(f"订单号 {order_no}") == "bank_card"


def test_dates_amounts_and_phones_in_a_note_are_not_numbers_to_refuse():
    assert scan_text("2024-05-01 联系 13800138000，报价 1234567.89 元") is None
    assert scan_text("2024-05-01 13800138000 010-12345678") is None


def test_two_numbers_side_by_side_are_not_joined_into_one():
    card = next(c for c in iter(lambda: ref.bank_card(rng(), length=18), None)
                if expected(c) == "bank_card")
    assert scan_text(card) == "bank_card"
    # a 12-digit number and a 6-digit one in a row: not a grouped card
    assert scan_text(f"单号 {card[:12]} {card[12:]}") is None
    # but the ways people group a card are read
    assert scan_text(f"卡号 {card[:6]} {card[6:14]} {card[14:]}") == "bank_card"


def test_business_notes_with_dates_phones_and_amounts_are_clean():
    for note in ("2024-05-01 13800138000 0491-69848200 5106265.61 元",
                 "订单 SO403822413715 于 2025-01-15 21:33 发货，金额 7275828.74",
                 "15756753864 0794-53176687 2027-04-23 202001079615 134561"):
        assert scan_text(note) is None


# --- property tests against the references ------------------------------------

def _typed(value, sep, layout, width):
    groups = {"plain": [value], "fours": [value[i:i + 4] for i in range(0, len(value), 4)],
              "id": [value[:6], value[6:14], value[14:]]}[layout]
    text = sep.join(g for g in groups if g)
    return ref.fullwidth(text) if width == "full" else text


typing = st.tuples(ref.separators, st.sampled_from(["plain", "fours", "id"]),
                   st.sampled_from(["ascii", "full"]))


@PROPS
@given(st.one_of(ref.resident_ids, ref.resident_ids_x, ref.resident_ids_15), typing,
       st.booleans())
def test_property_every_valid_id_is_caught(value, how, lower):
    assert expected(value) == "resident_id"
    value = value.lower() if lower else value
    assert scan_text(f"客户资料：{_typed(value, *how)} 请核对") == "resident_id"


@PROPS
@given(ref.resident_ids_wrong_check)
def test_property_wrong_check_is_never_an_id(value):
    assert scan_text(value) == expected(value) != "resident_id"
    assert scan_text(ref.fullwidth(value)) == expected(value)


@PROPS
@given(ref.bank_cards, typing)
def test_property_cards_are_caught(card, how):
    want = expected(card)
    assert want in ("bank_card", "resident_id") or ref.is_uscc(card)
    assert scan_text(f"卡号 {_typed(card, *how)}") == want


@PROPS
@given(ref.bank_cards_wrong_check)
def test_property_luhn_invalid_is_never_a_card(value):
    assert scan_text(value) == expected(value) != "bank_card"


@PROPS
@given(st.one_of(ref.usccs, ref.usccs_digits_only))
def test_property_usccs_are_never_cards(code):
    assert ref.is_uscc(code)
    assert scan_text(f"代码 {code}") == expected(code) != "bank_card"


@PROPS
@given(st.text(alphabet=st.sampled_from("0123456789 -.Xx\u3000\u00a0中a"), max_size=40))
def test_property_any_text_never_crashes_and_digit_free_text_is_clean(text):
    kind = scan_text(text)
    assert kind in (None, "resident_id", "bank_card")
    if sum(c.isdigit() for c in text) < 15:
        assert kind is None


# --- the scanner on every text field (schemas) ----------------------------------

def _customer(**over):
    data = {"name": "上海某某机械有限公司", "uscc": ref.uscc(rng(), "9", "1", "310000"),
            "industry_code": "C35", "type": "potential",
            "contacts": [{"name": "张三", "title": "经理", "mobile": "13800138000"}]}
    data.update(over)
    return data


@pytest.mark.parametrize("field", ["name", "needs", "region", "source_channel"])
def test_every_text_field_is_scanned(field):
    with pytest.raises(ValidationError) as exc:
        load(CustomerInSchema(), _customer(**{field: f"备注 {ref.resident_id(rng())}"}))
    assert exc.value.code == "SENSITIVE_DATA"
    assert field in exc.value.fields


def test_nested_contact_fields_and_tags_are_scanned():
    card = next(c for c in iter(lambda: ref.bank_card(rng()), None) if expected(c) == "bank_card")
    data = _customer(tags=[card])
    data["contacts"][0]["title"] = ref.resident_id_x(rng()).lower()
    with pytest.raises(ValidationError) as exc:
        load(CustomerInSchema(), data)
    assert set(exc.value.fields) == {"tags.0", "contacts.0.title"}


def test_all_digit_uscc_in_needs_is_accepted():
    r = rng()
    codes = [c for c in (ref.uscc(r, digits_only=True) for _ in range(50)) if expected(c) is None]
    loaded = load(CustomerInSchema(), _customer(needs="关联公司 " + "；".join(codes)))
    assert codes[0] in loaded["needs"]


def test_scan_names_each_field():
    hits = scan({"a": SAMPLE, "b": [{"c": "ok", "d": ref.fullwidth(SAMPLE)}]})
    assert set(hits) == {"a", "b.0.d"}
    assert "SENSITIVE_DATA" in hits["a"][0]


@PROPS
@given(st.lists(st.one_of(st.sampled_from(["11010519491231002X", "110105491231002",
                                           "6222020200112233", "1101", "0519", "2X"]),
                          st.text(alphabet="0123456789０１２Ｘx -.．－，。、（）中文\u3000\u00a0",
                                  max_size=6)), max_size=8))
def test_property_scanning_text_or_its_nfkc_form_is_the_same(parts):
    import unicodedata
    text = "".join(parts)
    assert scan_text(text) == scan_text(unicodedata.normalize("NFKC", text))


def test_keys_holding_a_number_are_refused_without_repeating_it():
    hits = scan({"name": "x", SAMPLE: 1, "contacts": [{ref.fullwidth(SAMPLE): "y"}]})
    assert set(hits) == {"_keys", "contacts.0._keys"}
    with pytest.raises(ValidationError) as exc:
        load(CustomerInSchema(), _customer(**{f"备注{SAMPLE}": "x"}))
    assert exc.value.code == "SENSITIVE_DATA" and set(exc.value.fields) == {"_keys"}
    assert "1101" not in str(exc.value) and "1101" not in str(exc.value.fields)


def test_short_strings_cannot_hold_a_number():
    # scan_text skips strings under 5 characters: no character's NFKC form holds
    # more than 3 decimal digits (⅒ -> "1⁄10"), so 4 characters hold at most 12
    import sys
    import unicodedata
    most = max(sum(d.isdecimal() for d in unicodedata.normalize("NFKC", chr(cp)))
               for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF)
    assert 4 * most < 15


def test_artifact_finder_reads_a_uuids_digit_groups_as_one_token_not_a_card():
    # 5397017462614011 passes Luhn (every second digit from the right doubled, 9
    # subtracted above 9: the sum is 50, a multiple of 10); written as a UUID's first three
    # groups it is part of one hyphenated token (an event_id), dash-grouped alone it is a card
    assert ref.find_ids_and_cards("53970174-6261-4011-8abc-0123456789ab") == []
    assert ref.find_ids_and_cards("ab-5397-0174-6261-4011") == []
    card = [("bank_card", "5397017462614011")]
    assert ref.find_ids_and_cards("卡号 5397-0174-6261-4011。") == card


def test_artifact_finder_reads_no_card_or_id_in_a_hex_digest():
    # an HMAC-SHA256 in hex as the audit trail stores it, holding an 18-digit run by
    # chance: glued to letters a run is never a card, and inside a digest never an ID;
    # an ID glued to letters outside a digest is still found
    digest = "8d1656" + "539701746261401102" + "a9aa52236b1b8cb67c78429d352448542337550459ea00"
    assert ref.find_ids_and_cards(digest) == []
    assert ref.find_ids_and_cards("ID11010519491231002X") == [("resident_id", "11010519491231002X")]
    assert ref.find_ids_and_cards("ab110105194912310022cd") == []  # wrong check character
