"""Pure rules behind the service workspace: report periods cut in Asia/Shanghai,
the queue's clock states, signed survey tokens."""
import datetime as dt
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.errors import NotFound, ValidationError
from services.service_desk import queue, survey_links
from services.service_desk.periods import period_bounds, period_days

UTC = dt.UTC


@pytest.mark.parametrize("period, first, last", [
    ("2024-02", "2024-02-01", "2024-02-29"),  # leap year (Gregorian rule: 2024 % 4 == 0)
    ("2100-02", "2100-02-01", "2100-02-28"),  # 2100 is not a leap year
    ("2026-12", "2026-12-01", "2026-12-31"),
    ("2026-Q1", "2026-01-01", "2026-03-31"),
    ("2026-Q4", "2026-10-01", "2026-12-31"),
    ("2026", "2026-01-01", "2026-12-31"),
    ("2026-11-03..2026-11-05", "2026-11-03", "2026-11-05"),
])
def test_period_days(period, first, last):
    assert period_days(period) == (dt.date.fromisoformat(first), dt.date.fromisoformat(last))


@pytest.mark.parametrize("bad", ["2026-13", "2026-Q5", "26-11", "2026-11-05..2026-11-03",
                                 "2026-02-30..2026-03-01", "1999", "", None, 2026])
def test_bad_periods_name_the_field(bad):
    with pytest.raises(ValidationError) as err:
        period_days(bad)
    assert set(err.value.fields) == {"period"}


def test_period_cut_in_shanghai():
    # Asia/Shanghai is UTC+8 with no DST since 1991: a day starts at 16:00 UTC before
    _, _, start, end = period_bounds("2026-11", "Asia/Shanghai")
    assert start == dt.datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert end == dt.datetime(2026, 11, 30, 16, tzinfo=UTC)


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_month_contains_its_days(day):
    first, last = period_days(f"{day.year:04d}-{day.month:02d}")
    assert first.day == 1 and first <= day <= last
    assert (last + dt.timedelta(days=1)).day == 1


NOW = dt.datetime(2026, 12, 7, 12, tzinfo=UTC)


def t(**kw):
    base = dict(status="open", first_responded_at=None,
                first_response_due_at=NOW + dt.timedelta(hours=1),
                resolution_due_at=NOW + dt.timedelta(hours=4))
    base.update(kw)
    return SimpleNamespace(**base)


def test_next_due_follows_the_running_clock():
    assert queue.next_due(t()) == NOW + dt.timedelta(hours=1)
    assert queue.next_due(t(status="in_progress", first_responded_at=NOW)) == \
        NOW + dt.timedelta(hours=4)
    assert queue.next_due(t(status="resolved")) is None
    assert queue.next_due(t(status="closed")) is None


@pytest.mark.parametrize("due_in, done_in, state", [
    (30, None, "amber"), (60, None, "amber"), (61, None, "running"), (0, None, "breached"),
    (-5, None, "breached"), (30, -10, "done"), (-30, -10, "late"),
])
def test_clock_states(due_in, done_in, state):
    due = NOW + dt.timedelta(minutes=due_in)
    done = None if done_in is None else NOW + dt.timedelta(minutes=done_in)
    assert queue.clock_state(due, done, NOW) == state


CONFIG = {"JWT": {"key": "unit-test-key-0123456789abcdef0123456789"}}


def test_survey_token_round_trip_and_expiry():
    exp = NOW + dt.timedelta(days=1)
    token = survey_links.sign(CONFIG, 42, "nonce-1", exp)
    assert survey_links.verify(CONFIG, token, NOW) == (42, "nonce-1", False)
    assert survey_links.verify(CONFIG, token, exp) == (42, "nonce-1", True)
    own = dict(CONFIG, SURVEY_LINK_SECRET="another-secret-for-links-0123456789")
    with pytest.raises(NotFound):  # another key
        survey_links.verify(own, token, NOW)
    head, body, sig = token.split(".")
    with pytest.raises(NotFound):
        survey_links.verify(CONFIG, f"{head}.{body}.{sig[:-3]}abc", NOW)


@given(st.integers(min_value=0, max_value=10_000), st.sampled_from("ABCDEFabcdef0123456789-_"))
def test_survey_token_any_changed_character_is_refused(position, replacement):
    """HS256 (RFC 7515/7518): a change anywhere in header, payload or signature fails the
    MAC, except a change a base64url decoder does not see (the last character's unused
    low bits) which yields the very same token bytes."""
    token = survey_links.sign(CONFIG, 7, "nonce-x", NOW + dt.timedelta(days=1))
    i = position % len(token)
    if token[i] == "." or token[i] == replacement:
        return
    changed = token[:i] + replacement + token[i + 1:]
    try:
        got = survey_links.verify(CONFIG, changed, NOW)
    except NotFound:
        return
    # accepted only if the segment decodes to the same bytes as before
    import base64
    seg = token.split(".")[changed[:i].count(".")]
    seg2 = changed.split(".")[changed[:i].count(".")]
    pad = "=" * (-len(seg) % 4)
    assert base64.urlsafe_b64decode(seg + pad) == base64.urlsafe_b64decode(seg2 + pad)
    assert got == (7, "nonce-x", False)
