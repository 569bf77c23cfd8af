"""services.common.paging: cursors are opaque, bound to their filters, validated; the
estimate extrapolates the matches counted over part of the id span."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common import paging
from services.common.errors import ValidationError


@given(st.lists(st.one_of(st.integers(-2 ** 63, 2 ** 63 - 1), st.text(max_size=20)),
                min_size=1, max_size=3),
       st.dictionaries(st.sampled_from(["q", "type", "tags_all"]), st.text(max_size=5)))
def test_cursor_round_trip(key, filters):
    body = paging.decode_cursor(paging.encode_cursor(filters, key), filters, len(key))
    assert body["k"] == key


@pytest.mark.parametrize("bad", ["x", "!!!!", "eyJmIjoxfQ", "a" * 3000, 7, ["k"]])
def test_garbage_is_a_validation_error_on_cursor(bad):
    with pytest.raises(ValidationError) as exc:
        paging.decode_cursor(bad, {})
    assert set(exc.value.fields) == {"cursor"}


def test_a_cursor_only_fits_its_own_filters_and_shape():
    c = paging.encode_cursor({"q": "科技"}, [2, 41])
    assert paging.decode_cursor(c, {"q": "科技"})["k"] == [2, 41]
    for filters, key_len in (({"q": "科"}, None), ({}, None), ({"q": "科技"}, 1)):
        with pytest.raises(ValidationError):
            paging.decode_cursor(c, filters, key_len)
    with pytest.raises(ValidationError):  # a bool or a float is not a key
        paging.decode_cursor(paging.encode_cursor({}, [True]), {})
    assert paging.decode_cursor(None, {}) is None and paging.decode_cursor("", {}) is None


def test_estimate_from_span():
    # 1001 matches among ids 1..2000 of a table with ids 1..10000: about 5005
    assert paging.estimate_from_span(1001, 2000, 1, 10000) == 5005
    assert paging.estimate_from_span(1001, 10000, 1, 10000) == 1001
    assert paging.estimate_from_span(50, None, 1, 10) == 50  # nothing to extrapolate
