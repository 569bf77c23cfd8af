"""Business periods for service_desk reports: ``2026-11``, ``2026-Q4``, ``2026`` or a
day range ``2026-11-01..2026-11-30``, cut in the business time zone (plain functions)."""
import datetime as dt
import re
from zoneinfo import ZoneInfo

from services.common.errors import validation_error

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


def period_days(period):
    """(first day, last day) of ``period``; ValidationError naming ``period`` otherwise."""
    if not isinstance(period, str):
        raise validation_error({"period": "YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD..YYYY-MM-DD"})
    try:
        if m := _MONTH.match(period):
            year, month = int(m[1]), int(m[2])
            first = dt.date(year, month, 1)
            last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1))
        elif m := _QUARTER.match(period):
            year, q = int(m[1]), int(m[2])
            first = dt.date(year, 3 * q - 2, 1)
            last = (dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
                    - dt.timedelta(days=1))
        elif m := _YEAR.match(period):
            first, last = dt.date(int(m[1]), 1, 1), dt.date(int(m[1]), 12, 31)
        elif m := _RANGE.match(period):
            first, last = dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
            if last < first or (last - first).days > 366 * 5:
                raise ValueError
        else:
            raise ValueError
    except ValueError:
        raise validation_error(
            {"period": "YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD..YYYY-MM-DD"}) from None
    if first.year < 2000 or last.year > 2100:
        raise validation_error({"period": "years 2000-2100"})
    return first, last


def period_bounds(period, tz_name):
    """[start, end) of ``period`` in UTC, the days cut in ``tz_name``."""
    first, last = period_days(period)
    tz = ZoneInfo(tz_name or "Asia/Shanghai")
    start = dt.datetime.combine(first, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    return first, last, start, end
