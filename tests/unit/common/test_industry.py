"""GB/T 4754-2017 industry codes: the shipped table against codes and names
written here from the standard's text (not read from the data file), and the
validator at every level."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.industry import (
    entries,
    industry_name,
    industry_path,
    industry_search,
    industry_table,
    validate_industry_code,
)

# Sections and the divisions each holds, from the standard's table.
SECTION_DIVISIONS = {
    "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52),
    "G": (53, 60), "H": (61, 62), "I": (63, 65), "J": (66, 69), "K": (70, 70),
    "L": (71, 72), "M": (73, 75), "N": (76, 79), "O": (80, 82), "P": (83, 83),
    "Q": (84, 85), "R": (86, 90), "S": (91, 96), "T": (97, 97),
}

# Spot checks at every level, typed from the standard's text.
FROM_THE_STANDARD = {
    "A": "农、林、牧、渔业",
    "01": "农业",
    "011": "谷物种植",
    "0111": "稻谷种植",
    "022": "造林和更新",          # a group with a single class ...
    "0220": "造林和更新",         # ... printed on one line with it
    "C": "制造业",
    "35": "专用设备制造业",
    "351": "采矿、冶金、建筑专用设备制造",
    "3511": "矿山机械制造",
    "3513": "深海石油钻探设备制造",
    "3963": "智能无人飞行器制造",
    "4620": "污水处理及其再生利用",
    "5292": "互联网零售",
    "I": "信息传输、软件和信息技术服务业",
    "65": "软件和信息技术服务业",
    "651": "软件开发",
    "6513": "应用软件开发",
    "6520": "集成电路设计",
    "7215": "农村集体经济组织管理",
    "8421": "社区卫生服务中心（站）",
    "905": "文化体育娱乐活动与经纪代理服务",
    "87": "广播、电视、电影和录音制作业",
    "T": "国际组织",
    "97": "国际组织",
    "9700": "国际组织",
}


def by_level(level):
    return [e for e in entries().values() if e.level == level]


def test_counts():
    # 20 / 97 / 473 as in the standard. Classes: the foreword of the 2017 text
    # says 1380, the table as amended (第1号修改单, 2019) is quoted with 1382;
    # the two public transcriptions the data was built from agree on 1381
    # (see services/common/data/GBT4754_2017.md). A change here is deliberate.
    assert len(by_level("section")) == 20
    assert len(by_level("division")) == 97
    assert len(by_level("group")) == 473
    assert len(by_level("class")) == 1381


def test_sections_and_their_divisions():
    expected = {f"{n:02d}": s for s, (lo, hi) in SECTION_DIVISIONS.items()
                for n in range(lo, hi + 1)}
    assert {e.code: e.section for e in by_level("division")} == expected
    assert sorted(e.code for e in by_level("section")) == list("ABCDEFGHIJKLMNOPQRST")


@pytest.mark.parametrize("code,name", sorted(FROM_THE_STANDARD.items()))
def test_spot_checks(code, name):
    assert entries()[code].name == name


def test_tree_is_consistent():
    table = entries()
    for e in table.values():
        if e.level == "group":
            assert table[e.code[:2]].section == e.section
            assert any(c.startswith(e.code) for c in table if len(c) == 4 and c.isdigit()), e
        if e.level == "class":
            assert table[e.code[:3]].section == e.section
    for g in by_level("group"):
        classes = [c for c in by_level("class") if c.code.startswith(g.code)]
        if len(classes) == 1 and classes[0].code.endswith("0"):
            assert classes[0].name == g.name, g  # single-class group shares its name


def test_every_code_validates_in_every_spelling():
    for e in entries().values():
        for spelling in {e.code, e.full_code, e.full_code.lower(), f" {e.full_code} "}:
            assert validate_industry_code(spelling) == spelling.strip().upper()


# --- the samples ------------------------------------------------------

@pytest.mark.parametrize("code,message", [
    ("C3500", r"no such GB/T 4754-2017 group \(中类\) in division C35 专用设备制造业 "
              r"\(its groups: 351, .*, 359\); a division is written with two digits \(C35\)"),
    ("I658", r"no such .* group .* in division I65 .*\(its groups: 651, 652, 653, 654, 655, "
             r"656, 657, 659\)"),
    ("9799", r"no such .* group .* in division T97 国际组织 \(its groups: 970\)"),
    ("3519", r"no such .* class \(小类\) in group C351 .*\(its classes: 3511, .*, 3517\)"),
    ("C98", "first two digits are not a GB/T 4754-2017 division"),
    ("A35", "division 35 belongs to section C, not A"),
    ("U", "section letter"),
    ("C35111", "section letter"),
    ("", "required"),
    (None, "required"),
])
def test_codes_that_do_not_exist_are_refused(code, message):
    with pytest.raises(ValueError, match=message) as err:
        validate_industry_code(code)
    if code and code.strip() and code not in ("A35",):
        assert code not in str(err.value)  # the invalid input is not echoed


def test_0111_exists_in_2017():
    # Issue 16 lists 0111 among codes that do not exist; it is 稻谷种植 in
    # GB/T 4754-2017 (and in 2011), so it is accepted.
    assert validate_industry_code("0111") == "0111"
    assert validate_industry_code("A0111") == "A0111"
    with pytest.raises(ValueError, match="belongs to section A"):
        validate_industry_code("C0111")


@settings(max_examples=500)
@given(st.one_of(st.just(""), st.sampled_from("ABCDEFGHIJKLMNOPQRST")),
       st.text("0123456789", min_size=2, max_size=4))
def test_accepted_exactly_when_every_level_exists(letter, digits):
    table = entries()
    exists = all(digits[:n] in table for n in range(2, len(digits) + 1)) and (
        not letter or table[digits[:2]].section == letter)
    try:
        validate_industry_code(letter + digits)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == exists


# --- names, compatibility, search -------------------------------------------

def test_names():
    assert industry_name("C35") == "制造业-专用设备制造业"   # unchanged for divisions
    assert industry_name("I") == "信息传输、软件和信息技术服务业"
    assert industry_name("C3511") == "矿山机械制造"
    assert industry_name("351") == "采矿、冶金、建筑专用设备制造"
    assert industry_name("C3500") is None
    assert industry_name(None) is None
    assert industry_path("I6513") == [("I", "信息传输、软件和信息技术服务业"),
                                      ("I65", "软件和信息技术服务业"),
                                      ("I651", "软件开发"), ("I6513", "应用软件开发")]


def test_old_table_shape_is_kept():
    sections, divisions = industry_table()
    assert divisions["35"] == "C"
    assert {"code": "35", "name": "专用设备制造业"} in sections["C"]["divisions"]
    assert sum(len(s["divisions"]) for s in sections.values()) == 97


def test_search_by_code_prefix():
    hits = industry_search("C35", limit=100)
    assert hits[0]["code"] == "C35" and hits[0]["level"] == "division"
    assert all(h["code"].startswith("C35") for h in hits)
    assert {"C351", "C3511", "C3599"} <= {h["code"] for h in hits}
    assert industry_search("351")[0]["code"] == "C351"
    assert industry_search("i6513")[0] == {
        "code": "I6513", "name": "应用软件开发", "level": "class", "section": "I",
        "path": ["信息传输、软件和信息技术服务业", "软件和信息技术服务业", "软件开发"]}
    assert industry_search("Ｉ６５")[0]["code"] == "I65"  # full-width typed
    assert industry_search("C")[0]["code"] == "C"


def test_search_by_name_fragment():
    hits = industry_search("软件", limit=100)
    assert [h["code"] for h in hits[:2]] == ["I65", "I651"]  # names starting with it first
    assert all("软件" in h["name"] for h in hits)
    assert {"I6511", "I6513", "F5176"} <= {h["code"] for h in hits}
    assert industry_search("稻谷")[0]["code"] == "A0111"


def test_search_limits_and_nonsense():
    assert len(industry_search("制造", limit=5)) == 5
    assert len(industry_search("制造", limit=10_000)) == 100
    assert industry_search("") == [] and industry_search("   ") == []
    assert industry_search(None) == []
    assert industry_search("没有这个行业") == []
    assert industry_search("Z9") == []


@settings(max_examples=200)
@given(st.text(min_size=1, max_size=4))
def test_every_search_result_is_a_valid_code(term):
    for hit in industry_search(term, limit=10):
        assert validate_industry_code(hit["code"]) == hit["code"]
