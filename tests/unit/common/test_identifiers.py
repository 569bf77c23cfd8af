import random

import pytest

from services.common.identifiers import (
    industry_name,
    mask_email,
    mask_mobile,
    normalize_mobile,
    validate_industry_code,
    validate_uscc,
)
from tests.support import standards

# USCC and GB/T 4754 in depth: test_uscc.py and test_industry.py; these check
# that the re-exports services import from identifiers.py keep working.

def test_known_uscc():
    assert standards.is_uscc("91110000600037341L")  # the sample is checked, not trusted
    assert validate_uscc("91110000600037341L") == "91110000600037341L"


def test_generated_uscc_is_valid():
    rng = random.Random(1)
    for _ in range(50):
        code = standards.uscc(rng)  # independent GB 32100 generator
        assert validate_uscc(code) == code


@pytest.mark.parametrize("code,msg", [
    ("91110000600037341", "exactly 18"),
    ("91110000600037341l", "upper-case"),
    ("91110000600037341M", "check character"),
    ("9111000060003734IL", "not a valid"),
    (None, "exactly 18"),
])
def test_bad_uscc(code, msg):
    with pytest.raises(ValueError, match=msg):
        validate_uscc(code)


@pytest.mark.parametrize("raw,expected", [
    ("13800138000", "13800138000"),
    ("+86 138 0013 8000", "13800138000"),
    ("0086-19912345678", "19912345678"),
])
def test_mobile_normalised(raw, expected):
    assert normalize_mobile(raw) == expected


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "138001380001", "+1 4155550100",
                                 "abc", ""])
def test_bad_mobile(raw):
    with pytest.raises(ValueError):
        normalize_mobile(raw)


@pytest.mark.parametrize("code", ["C", "C35", "35", "3511", "C3511", "I65", "T97", "i65"])
def test_industry_codes(code):
    assert validate_industry_code(code) == code.upper()


@pytest.mark.parametrize("code,msg", [("Z", "section letter"),
                                      ("99", "not a GB/T 4754-2017 division"),
                                      ("A35", "belongs to section C"), ("C3X", "section letter"),
                                      ("", "required")])
def test_bad_industry_codes(code, msg):
    with pytest.raises(ValueError, match=msg):
        validate_industry_code(code)


def test_industry_name():
    assert industry_name("C35") == "制造业-专用设备制造业"
    assert industry_name("I") == "信息传输、软件和信息技术服务业"


def test_masking():
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_email("zhang.san@example.cn") == "z***@example.cn"
