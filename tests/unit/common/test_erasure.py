"""services.common.erasure: the contact_erased payload carries no value, only salted
sha256 digests (computed here with hashlib, the reference), and the matching rules."""
import datetime as dt
import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from services.common import erasure

WHEN = dt.datetime(2026, 12, 7, tzinfo=dt.timezone.utc)


def _ref(salt, kind, value):
    return hashlib.sha256(f"{salt}{kind}:{value}".encode()).hexdigest()


def test_request_holds_no_value_only_salted_digests():
    values = {"name": "欧阳娜娜", "mobile": "13912345678", "email": "Nana@Example.cn"}
    req = erasure.request(7, 9, values, WHEN)
    text = json.dumps(req, ensure_ascii=False)
    assert "欧阳娜娜" not in text and "13912345678" not in text and "Nana" not in text
    assert req["digests"] == {"name": _ref(req["salt"], "name", "欧阳娜娜"),
                              "mobile": _ref(req["salt"], "mobile", "13912345678"),
                              "email": _ref(req["salt"], "email", "nana@example.cn")}
    assert erasure.request(7, 9, values, WHEN)["salt"] != req["salt"]  # fresh each time


def test_missing_values_are_left_out():
    req = erasure.request(7, 9, {"name": "张三", "mobile": None, "email": ""}, WHEN)
    assert set(req["digests"]) == {"name"}


@given(st.text(min_size=1, max_size=20).filter(str.strip))
def test_matches_the_value_and_nothing_else(name):
    req = erasure.request(1, 1, {"name": name}, WHEN)
    assert erasure.matches(req, "name", f"  {name}  ")  # stripped
    assert not erasure.matches(req, "name", name + "x")
    assert not erasure.matches(req, "mobile", name)  # the kind is part of the digest


def test_scrub_text_replaces_every_occurrence_longest_first():
    assert erasure.scrub_text("致王芳女士：王芳您好", ["王芳"]) == \
        "致[erased]女士：[erased]您好"
    assert erasure.scrub_text("电话 13912345678", ["139", "13912345678"]) == "电话 [erased]"
    assert erasure.scrub_text(None, ["x"]) is None
