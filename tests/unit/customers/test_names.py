"""The company-name keys behind duplicate detection, against cases written from the
rules (NFKC width folding, 有限责任公司 = 有限公司, brackets and spaces dropped; similar =
without legal form and place names), and hypothesis properties against transformations
written here (full-width forms, spaces, brackets, the legal form)."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.customers.names import name_key, region_key, similar_key

SAME_NAME = [
    ("上海蓝天科技有限公司", "上海蓝天科技有限责任公司"),            # legal form equivalence
    ("上海蓝天科技有限公司", "上海蓝天科技 有限公司"),               # space
    ("上海蓝天科技有限公司", "上海蓝天科技\u3000有限公司"),          # ideographic space
    ("蓝天科技（上海）有限公司", "蓝天科技(上海)有限公司"),          # full / half brackets
    ("蓝天科技（上海）有限公司", "蓝天科技上海有限公司"),            # brackets dropped
    ("ＡＢＣ科技有限公司", "ABC科技有限公司"),                      # full-width letters
    ("abc科技有限公司", "ABC科技有限公司"),                         # case
    ("华为技术【深圳】有限公司", "华为技术深圳有限公司"),
    ("１２３机械厂", "123机械厂"),                                  # full-width digits
]
DIFFERENT_NAME = [
    ("上海蓝天科技有限公司", "上海蓝天科技股份有限公司"),            # another legal form
    ("上海蓝天科技有限公司", "上海蓝海科技有限公司"),
    ("蓝天科技有限公司", "蓝天科技有限公司北京分公司"),
]


@pytest.mark.parametrize(("a", "b"), SAME_NAME)
def test_same_name(a, b):
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT_NAME)
def test_different_name(a, b):
    assert name_key(a) != name_key(b)


def test_name_key_literal_values():
    assert name_key("蓝天科技（上海）有限责任公司") == "蓝天科技上海有限公司"
    assert name_key("ＡＢＣ 科技 Co., Ltd.") == "abc科技coltd"
    assert name_key("") == "" and name_key(None) == ""


@pytest.mark.parametrize(("region", "key"), [("上海市", "上海"), ("上海", "上海"),
                                             ("广东省", "广东"), ("浦东新区", "浦东"),
                                             ("新疆维吾尔自治区", "新疆"), ("", "")])
def test_region_key(region, key):
    assert region_key(region) == key


SIMILAR = [  # (name, region, name, region): similar in the same region
    ("上海蓝天科技有限公司", "上海", "蓝天科技（上海）有限公司", "上海市"),
    ("上海市蓝天科技有限公司", "上海", "蓝天科技集团有限公司", "上海"),
    ("深圳市腾飞电子有限公司", "深圳", "腾飞电子公司", "深圳"),
    ("ABC Technology Co., Ltd.", "北京", "abc technology", "北京"),
    ("浙江宏达纺织股份有限公司", "杭州", "宏达纺织有限公司", "杭州"),
]


@pytest.mark.parametrize(("a", "ra", "b", "rb"), SIMILAR)
def test_similar(a, ra, b, rb):
    assert similar_key(a, ra) == similar_key(b, rb) is not None
    assert region_key(ra) == region_key(rb)


def test_similar_literal_values():
    assert similar_key("上海蓝天科技有限责任公司", "上海") == "蓝天科技"
    assert similar_key("深圳市腾飞集团有限公司", "深圳") == "腾飞"
    assert similar_key("蓝天科技（上海）有限公司", "上海市") == "蓝天科技"


def test_not_similar():
    assert (similar_key("上海蓝天科技有限公司", "上海")
            != similar_key("上海蓝海科技有限公司", "上海"))


def test_too_short_similar_key_is_not_used():
    # only a place and a legal form: it would match every company of the region
    assert similar_key("上海有限公司", "上海") is None
    assert similar_key("北京A公司", "北京") is None


def test_stored_keys_put_the_region_in_the_similar_key():
    from services.customers.names import keys
    assert keys("上海蓝天科技有限公司", "上海") == {"name_key": "上海蓝天科技有限公司",
                                                  "similar_key": "上海|蓝天科技"}
    assert keys("蓝天科技（上海）集团有限公司", "上海市")["similar_key"] == "上海|蓝天科技"
    assert keys("蓝天科技集团有限公司", "北京")["similar_key"] == "北京|蓝天科技"
    assert keys("蓝天科技有限公司", None)["similar_key"] is None  # no region: not used


# --- properties: the reference transformations are written here, from the rules -------
_TEXT = st.text(alphabet=st.sampled_from("abcXYZ019蓝天科技机械华信-.·"), min_size=1,
                max_size=20)


def _full_width(text):
    """ASCII 0x21-0x7E → U+FF01-U+FF5E, space → U+3000 (the full-width forms)."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c
                   for c in text)


@given(_TEXT)
def test_full_width_typing_is_the_same_name(text):
    assert name_key(_full_width(text)) == name_key(text)


@given(_TEXT, st.lists(st.integers(min_value=0, max_value=20), max_size=4))
def test_spaces_anywhere_are_the_same_name(text, cuts):
    spaced = text
    for cut in sorted(cuts, reverse=True):
        spaced = spaced[:cut] + " " + spaced[cut:]
    assert name_key(spaced) == name_key(text)


@given(_TEXT, _TEXT, st.sampled_from([("（", "）"), ("(", ")"), ("【", "】"), ("[", "]")]))
def test_brackets_of_any_kind_are_the_same_name(head, inner, brackets):
    left, right = brackets
    assert name_key(f"{head}{left}{inner}{right}有限公司") == name_key(f"{head}{inner}有限公司")


@given(_TEXT)
def test_limited_liability_company_is_limited_company(text):
    assert name_key(text + "有限责任公司") == name_key(text + "有限公司")
