import datetime as dt
from decimal import Decimal

import pytest

from services.customers import domain


@pytest.mark.parametrize("amount,years,influence,tier", [
    (1_000_000, 0, 1, "strategic"),
    (999_999, 0, 5, "key"),
    (300_000, 3, 4, "strategic"),
    (300_000, 2.9, 5, "key"),
    (300_000, 3, 3, "key"),
    (200_000, 0, None, "key"),
    (199_999, 2, 1, "key"),
    (199_999, 1.9, 5, "normal"),
    (0, 0, None, "normal"),
])
def test_tier_rule(amount, years, influence, tier):
    assert domain.compute_tier(Decimal(amount), years, influence) == tier


def test_completeness_counts_the_twelve_fields():
    profile = {"name": "甲", "uscc": "X", "industry_code": "C35", "region": "", "scale": None,
               "annual_budget": Decimal("0"), "needs": "  ", "source_channel": "web"}
    contact = {"name": "张三", "title": "经理", "mobile": "13800138000", "email": None}
    filled = domain.filled_fields(profile, contact)
    assert filled == ["name", "uscc", "industry_code", "annual_budget", "source_channel",
                      "contact_name", "contact_title", "contact_mobile"]
    assert domain.completeness(filled) == round(8 / 12, 4)


def test_primary_contact_rules():
    one, err = domain.normalise_contacts([{"name": "a", "title": "t", "mobile": "1"}])
    assert err is None and one[0]["is_primary"]
    _, err = domain.normalise_contacts([])
    assert "at least one" in err
    _, err = domain.normalise_contacts([{"name": "a", "is_primary": True},
                                        {"name": "b", "is_primary": True}])
    assert "exactly one" in err
    _, err = domain.normalise_contacts([{"name": "a", "is_primary": True}])
    assert "title" in err and "mobile" in err


def test_diff_masks_contacts():
    before = {"contacts": [{"name": "a", "mobile": "13812345678", "email": "ab@x.cn"}]}
    after = {"contacts": [{"name": "a", "mobile": "13912345678", "email": "ab@x.cn"}]}
    (change,) = domain.diff(before, after, ["contacts"])
    assert change["before"][0]["mobile"] == "138****5678"
    assert change["after"][0]["mobile"] == "139****5678"
    assert "13812345678" not in str(change)


def test_hash_chain_detects_tampering():
    at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    p1 = domain.history_payload(1, 1, "u1", at, "created", [{"field": "name"}])
    h1 = domain.chain_hash(domain.GENESIS, p1)
    p2 = domain.history_payload(1, 2, "u1", at, "updated", [{"field": "region"}])
    h2 = domain.chain_hash(h1, p2)
    assert h2 != domain.chain_hash(h1, dict(p2, operator_id="u2"))
    assert h2 == domain.chain_hash(h1, dict(p2))


@pytest.mark.parametrize("name,content,ok", [
    ("a.pdf", b"%PDF-1.7 ...", True),
    ("a.JPG", b"\xff\xd8\xff\xe0....", True),
    ("a.pdf", b"\xff\xd8\xff", False),
    ("a.exe", b"%PDF-", False),
    ("noext", b"%PDF-", False),
])
def test_attachment_checked_by_content(name, content, ok):
    ctype, problem = domain.attachment_type(name, content)
    assert (problem is None) == ok


def test_cooperation_years():
    assert domain.cooperation_years(dt.date(2023, 1, 1), dt.date(2026, 1, 1)) >= 2.99
    assert domain.cooperation_years(None, dt.date(2026, 1, 1)) == 0


def test_diff_created_is_the_diff_from_nothing():
    fields = ("name", "region", "annual_budget", "cooperation_since", "lost_reason",
              "contacts", "tags")
    snap = {"name": "上海蓝天科技有限公司", "region": None, "annual_budget": Decimal("50000.00"),
            "cooperation_since": dt.date(2020, 1, 2), "contacts": [
                {"name": "张伟", "mobile": "13800138000", "email": "zw@example.cn"}],
            "tags": []}
    expected = [
        {"field": "name", "before": None, "after": "上海蓝天科技有限公司"},
        {"field": "annual_budget", "before": None, "after": "50000.00"},
        {"field": "cooperation_since", "before": None, "after": "2020-01-02"},
        {"field": "contacts", "before": [], "after": [
            {"name": "张伟", "mobile": "138****8000", "email": "z***@example.cn"}]},
        {"field": "tags", "before": None, "after": []}]
    assert domain.diff_created(snap, fields) == expected
    assert domain.diff({}, snap, fields) == expected
    empty = {"name": "x", "contacts": [], "tags": ["a"]}
    assert domain.diff_created(empty, fields) == domain.diff({}, empty, fields)
