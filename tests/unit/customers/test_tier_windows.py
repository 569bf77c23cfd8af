"""Issue 16 item 7 (d): the tier rule's "orders in the last 12 months" and "cooperation
>= N years" in calendar terms, on dates in CRM_TIMEZONE (Asia/Shanghai, UTC+8, no DST).

The references below are written from the rule as documented in services/customers/domain.py,
not with dateutil: a year of cooperation completes on the same month and day (a 29 February
start completes on 28 February of a common year); the last 12 months on local date D are
the local dates after "D one year earlier" (29 February one year earlier read as 28 February)
up to D.
"""
import calendar
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.db import make_engine, make_sessionmaker
from services.customers import domain
from services.customers import repository as repo
from services.customers.models import Base, OrderLedger

D = dt.date
UTC = dt.timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


def _same_day_years_before(day, years):
    year = day.year - years
    if (day.month, day.day) == (2, 29) and not calendar.isleap(year):
        return D(year, 2, 28)
    return D(year, day.month, day.day)


def _years_reference(since, today):
    """Completed years: count anniversaries (29 Feb → 28 Feb in common years) <= today."""
    years = 0
    while True:
        year = since.year + years + 1
        anniversary = (D(year, 2, 28) if (since.month, since.day) == (2, 29)
                       and not calendar.isleap(year) else D(year, since.month, since.day))
        if anniversary > today:
            return years
        years += 1


# --- cooperation years -----------------------------------------------------------------
@pytest.mark.parametrize("since,today,years", [
    (D(2023, 2, 28), D(2026, 2, 28), 3),   # the brief's example
    (D(2023, 2, 28), D(2026, 2, 27), 2),
    (D(2023, 3, 1), D(2026, 2, 28), 2),
    (D(2024, 2, 29), D(2025, 2, 28), 1),   # leap-day start: a year on 28 Feb of a common year
    (D(2024, 2, 29), D(2025, 2, 27), 0),
    (D(2024, 2, 29), D(2028, 2, 28), 3),   # 2028 has a 29 February: the 4th year ends then
    (D(2024, 2, 29), D(2028, 2, 29), 4),
    (D(2022, 1, 1), D(2024, 1, 1), 2),     # 730 days / 365.25 = 1.9986: was not 2 years
    (D(2026, 5, 1), D(2026, 4, 1), 0),     # not started yet
])
def test_cooperation_years_by_calendar_date(since, today, years):
    assert domain.cooperation_years(since, today) == years


def test_two_calendar_years_make_a_key_customer_where_365_25_days_did_not():
    years = domain.cooperation_years(D(2022, 1, 1), D(2024, 1, 1))
    assert domain.compute_tier(Decimal(0), years, None) == "key"


@settings(max_examples=500, deadline=None)
@given(st.dates(D(2000, 1, 1), D(2099, 12, 31)), st.dates(D(2000, 1, 1), D(2099, 12, 31)))
def test_cooperation_years_match_the_calendar_reference(since, today):
    expected = _years_reference(since, today) if today >= since else 0
    assert domain.cooperation_years(since, today) == expected


# --- the local date, not the UTC date ----------------------------------------------------
def test_local_date_is_the_shanghai_date():
    assert domain.local_date(_utc(2026, 12, 6, 17, 0), SHANGHAI) == D(2026, 12, 7)
    assert domain.local_date(_utc(2026, 12, 6, 15, 59), SHANGHAI) == D(2026, 12, 6)


def test_default_zone_is_asia_shanghai(monkeypatch):
    monkeypatch.delenv("CRM_TIMEZONE", raising=False)
    assert domain.local_date(_utc(2026, 12, 6, 17, 0)) == D(2026, 12, 7)
    monkeypatch.setenv("CRM_TIMEZONE", "UTC")
    assert domain.local_date(_utc(2026, 12, 6, 17, 0)) == D(2026, 12, 6)


def test_anniversary_reached_at_local_midnight():
    since = D(2023, 12, 7)  # 3 years on 2026-12-07 in Shanghai = 2026-12-06T16:00Z
    assert domain.cooperation_years(
        since, domain.local_date(_utc(2026, 12, 6, 17, 0), SHANGHAI)) == 3
    assert domain.cooperation_years(
        since, domain.local_date(_utc(2026, 12, 6, 15, 59), SHANGHAI)) == 2


# --- the last 12 months ------------------------------------------------------------------
def test_window_starts_at_local_midnight_after_the_same_day_a_year_before():
    # on 2026-12-07 (Shanghai) the window is 2025-12-08 00:00 local = 2025-12-07 16:00Z
    assert domain.tier_window_start(_utc(2026, 12, 6, 17, 0), SHANGHAI) == _utc(
        2025, 12, 7, 16, 0)
    # on a 29 February: 2023-03-01 .. 2024-02-29; the day after: from 2023-03-02
    assert domain.tier_window_start(_utc(2024, 2, 29, 4), SHANGHAI) == _utc(2023, 2, 28, 16)
    assert domain.tier_window_start(_utc(2024, 3, 1, 4), SHANGHAI) == _utc(2023, 3, 1, 16)


@settings(max_examples=500, deadline=None)
@given(st.datetimes(dt.datetime(2001, 1, 1), dt.datetime(2098, 12, 31), timezones=st.just(UTC)),
       st.integers(min_value=-400 * 24, max_value=10 * 24))
def test_window_holds_exactly_the_last_12_local_months(now, hours):
    placed = now + dt.timedelta(hours=hours)
    today = now.astimezone(SHANGHAI).date()
    placed_day = placed.astimezone(SHANGHAI).date()
    inside = placed_day > _same_day_years_before(today, 1)
    assert (placed >= domain.tier_window_start(now, SHANGHAI)) == inside


# --- the ledger query uses the window ----------------------------------------------------
@pytest.fixture
def session(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/customers.db")
    Base.metadata.create_all(engine)
    s = make_sessionmaker(engine)()
    yield s
    s.close()
    engine.dispose()


def test_orders_of_the_last_12_months_cut_on_the_shanghai_date(session, monkeypatch):
    monkeypatch.setenv("CRM_TIMEZONE", "Asia/Shanghai")
    session.add_all([
        # 2025-12-07 23:30 Shanghai: one year before the day of "now" -> outside
        OrderLedger(order_id="o1", customer_id=1, amount=Decimal("100.00"),
                    placed_at=_utc(2025, 12, 7, 15, 30), cancelled=False),
        # 2025-12-08 00:30 Shanghai -> inside (UTC date still 2025-12-07)
        OrderLedger(order_id="o2", customer_id=1, amount=Decimal("200.00"),
                    placed_at=_utc(2025, 12, 7, 16, 30), cancelled=False),
        OrderLedger(order_id="o3", customer_id=1, amount=Decimal("400.00"),
                    placed_at=_utc(2026, 12, 6, 16, 30), cancelled=False),
    ])
    session.flush()
    # 2026-12-06T17:00Z is 2026-12-07 01:00 in Shanghai
    total, first = repo.orders_last_12_months(session, 1, _utc(2026, 12, 6, 17, 0))
    assert total == Decimal("600.00")
    assert domain.local_date(first) == D(2025, 12, 7)
