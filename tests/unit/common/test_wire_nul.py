"""NUL characters are refused field by field like the other values no column can hold:
PostgreSQL text cannot contain U+0000 ("A string literal cannot contain NUL (0x00)
characters"), so a NUL in a search filter or a form field used to be a 500 there
(found by tests/security/test_customers_pages.py's fuzzing on PostgreSQL)."""
from hypothesis import given
from hypothesis import strategies as st

from services.common import wire

CLEAN = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)))


def test_a_nul_anywhere_is_named_by_its_path():
    body = {"name": "甲\x00乙", "contacts": [{"mobile": "138\x00"}], "tags": ["ok", "\x00"]}
    assert wire.problems(body) == {"name": [wire.NUL_TEXT],
                                   "contacts.0.mobile": [wire.NUL_TEXT],
                                   "tags.1": [wire.NUL_TEXT]}
    assert wire.problems("\x00", "q") == {"q": [wire.NUL_TEXT]}


@given(CLEAN, CLEAN)
def test_text_without_nul_passes_and_any_nul_is_caught(left, right):
    assert wire.problems({"v": left + right}) == {}
    assert wire.problems({"v": left + "\x00" + right}) == {"v": [wire.NUL_TEXT]}
