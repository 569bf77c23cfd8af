"""GB 32100-2015 unified social credit codes, checked against the standard's
published sample, the issue's samples and the independent reference in
tests/support/standards.py (never against python-stdnum or the code under
test)."""
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common import uscc as under_test
from services.common.uscc import describe_uscc, is_uscc, validate_uscc
from tests.support import standards

# GB/T 2260 province-level codes, written here from the standard: the only
# rule the validator adds to the reference's "six digits" for characters 3-8.
PROVINCES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35",
             "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54",
             "61", "62", "63", "64", "65", "71", "81", "82"}


def division_ok(code):
    d = code[2:8]
    return d.isascii() and d.isdigit() and (d[:2] in PROVINCES or d == "100000")


def reference(code):
    """The reference verdict: GB 32100 per standards.py + the province rule."""
    return standards.is_uscc(code) and division_ok(code)


def build(head, division="110000", org_body="60003734", org_check=None, check=None):
    """A code with every part right except what the caller breaks; the check
    characters come from the reference."""
    org = org_body + (org_check or standards.org_check_char(org_body))
    body = head + division + org
    return body + (check or standards.uscc_check_char(body))


# --- published and issue samples -------------------------------------------

@pytest.mark.parametrize("code", [
    "91350100M000100Y43",   # GB 32100-2015's own example
    "Y1110105MA0000015R",   # issue 16: authority Y, refused before
    "91110000600037341L",
])
def test_samples_accepted(code):
    assert standards.is_uscc(code), "sample must be valid by the reference first"
    assert validate_uscc(code) == code


def test_issue_sample_with_wrong_organisation_code_is_refused():
    code = "91110000600037342P"
    assert standards.uscc_check_char(code[:17]) == code[17]  # its own check is right
    assert not standards.is_org_code(code[8:17])              # the GB 11714 check is not
    with pytest.raises(ValueError, match=r"organisation code \(characters 9-17\) .* GB 11714"):
        validate_uscc(code)


@pytest.mark.parametrize("head", ["01", "00", "99", "94", "A2", "N4", "Y9", "Y2", "B1", "Z1"])
def test_undefined_authority_or_category_is_refused(head):
    code = build(head) if head[0] != "Z" else "Z1" + build("91")[2:]
    assert not standards.is_uscc(code)
    with pytest.raises(ValueError, match="not defined|not allowed"):
        validate_uscc(code)


# --- the authority/category table -------------------------------------------

def test_table_matches_the_independent_reference():
    # two transcriptions of the registry's table, made separately, must agree
    assert {a: "".join(cats) for a, (_, cats) in under_test.AUTHORITIES.items()} \
        == standards.USCC_CATEGORIES


@pytest.mark.parametrize("authority,category", [
    (a, c) for a, cats in standards.USCC_CATEGORIES.items() for c in cats])
def test_every_defined_authority_and_category_is_accepted(authority, category):
    rng = random.Random(f"{authority}{category}")
    for _ in range(5):
        code = standards.uscc(rng, authority=authority, category=category)
        assert validate_uscc(code) == code
    assert describe_uscc(code)["authority"]


def test_every_undefined_pair_is_refused():
    refused = 0
    for a in standards.USCC_CHARSET:
        for c in standards.USCC_CHARSET:
            if c in standards.USCC_CATEGORIES.get(a, ""):
                continue
            code = build(a + c)
            assert not is_uscc(code), code
            refused += 1
    assert refused == 31 * 31 - 36  # 36 pairs are defined


# --- one message per failure -------------------------------------------------

@pytest.mark.parametrize("code,message", [
    (None, "exactly 18 characters"),
    ("9111000060003734", "exactly 18 characters"),
    ("91110000600037341l", "upper-case"),
    ("9111000060003734IL", r"character 17 is not allowed .*except I, O, S, V, Z"),
    ("91110000600O37341L", "character 12 is not allowed"),
    (build("X1"), r"authority code \(character 1\) .*1, 2, 3, 4, 5, 6, 7, 8, 9, A, N, Y"),
    (build("99"), r"category code \(character 2\) .* authority 9 \(工商\); defined: 1, 2, 3"),
    (build("91", division="990000"), r"division code \(characters 3-8\) is not a GB/T 2260"),
    (build("91", division="000000"), "division code"),
    (build("91", division="1100A0"), "division code"),
    (build("91", org_check="9"), r"organisation code \(characters 9-17\) .* GB 11714"),
    (build("91", check="0"), "wrong check character"),
])
def test_each_failure_has_its_message(code, message):
    with pytest.raises(ValueError, match=message) as err:
        validate_uscc(code)
    if code:
        # error texts reach logs: the typed division and organisation code stay out
        assert code[2:8] not in str(err.value) and code[8:17] not in str(err.value)


def test_national_registration_division_is_accepted():
    code = build("91", division="100000")
    assert reference(code)
    assert validate_uscc(code) == code


# --- properties against the reference ----------------------------------------

@settings(max_examples=300)
@given(standards.usccs)
def test_reference_codes_are_accepted(code):
    assert validate_uscc(code) == code


_charset = st.sampled_from(standards.USCC_CHARSET)
_divisions = st.one_of(
    st.sampled_from(standards.ADDRESS_CODES + ["100000", "650100", "820000", "710000"]),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(standards.USCC_CHARSET, min_size=6, max_size=6))


@st.composite
def candidates(draw):
    """Codes near the valid ones: any authority/category, plausible or random
    divisions, organisation and USCC check characters right or random."""
    head = draw(_charset) + draw(_charset)
    division = draw(_divisions)
    org_body = draw(st.text(standards.USCC_CHARSET, min_size=8, max_size=8))
    org_check = draw(st.one_of(st.just(None), _charset))
    body = head + division + org_body + (org_check or standards.org_check_char(org_body))
    check = draw(st.one_of(st.just(None), _charset))
    return body + (check or standards.uscc_check_char(body))


@settings(max_examples=1000)
@given(candidates())
def test_verdict_matches_reference(code):
    assert is_uscc(code) == reference(code), code


@settings(max_examples=500)
@given(standards.usccs, st.integers(0, 17), _charset)
def test_any_single_substitution_is_refused(code, position, char):
    # MOD 31-3 detects every single-character substitution (31 is prime and no
    # weight is 0 mod 31), so a mistyped character never passes.
    if code[position] == char:
        return
    typo = code[:position] + char + code[position + 1:]
    assert not is_uscc(typo), typo
