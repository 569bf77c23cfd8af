"""The statutory festivals of the mainland (《全国年节及纪念日放假办法》) for any year, and
the day their holiday greeting falls due.

Two sources, each for what it knows:

* **The festival's own date** comes from the ``holidays`` package's China calendar
  (pinned in pyproject.toml). It computes every year from 1950 to 2100: 元旦 1 January,
  春节 1st day of the 1st lunar month, 清明 the day of the solar term 清明 (sun at
  15° ecliptic longitude), 劳动节 1 May, 端午 5th day of the 5th lunar month (never the
  leap 5th month), 中秋 15th day of the 8th lunar month, 国庆 1 October; its lunar tables
  follow the official almanac (Purple Mountain Observatory / HKO). 清明, 端午 and 中秋
  became statutory holidays in 2008, so earlier years know only the other four.
* **The official day-off arrangement** (the State Council's yearly notice, which may start
  a holiday before the festival: New Year 2023's days off began on 2022-12-31) comes from
  ``chinesecalendar``, and only for the years it has published (1.11.0: up to 2026).

A greeting is due on the first day of the official days off around the festival when the
arrangement is published (a run of named days off; 中秋 and 国庆 sharing one run are both
due on its first day), else on the festival's own date. Either way the task is keyed by
the festival's own date, so the key never changes when an arrangement is published
later, and New Year 2023 (due 2022-12-31) never meets New Year 2022.
"""
import datetime as dt
import functools
import logging

log = logging.getLogger(__name__)

# code → (zh-CN title, the holidays package's en_US name)
FESTIVALS = {
    "new_year": ("元旦", "New Year's Day"),
    "spring_festival": ("春节", "Chinese New Year (Spring Festival)"),
    "qingming": ("清明节", "Tomb-Sweeping Day"),
    "labour_day": ("劳动节", "Labor Day"),
    "dragon_boat": ("端午节", "Dragon Boat Festival"),
    "mid_autumn": ("中秋节", "Mid-Autumn Festival"),
    "national_day": ("国庆节", "National Day"),
}
_BY_NAME = {name: code for code, (_, name) in FESTIVALS.items()}
_MAX_RUN = 15  # no official run of days off is longer


@functools.lru_cache(maxsize=512)
def festival_dates(year):
    """{code: the festival's own date} of ``year`` (those statutory in that year)."""
    import holidays
    calendar = holidays.China(years=year, language="en_US", categories=("public",))
    out = {}
    for day in sorted(calendar):
        for name in calendar.get_list(day):
            code = _BY_NAME.get(name)
            if code and code not in out:
                out[code] = day
    return out


def official_days_off(day):
    """Whether ``day`` is a named day off of a published arrangement; None when the
    arrangement for its year is not published."""
    import chinese_calendar
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    return bool(on_holiday and name)


def greeting_day(festival_day):
    """The day the greeting for a festival on ``festival_day`` falls due."""
    if not official_days_off(festival_day):  # not published (None), or not a day off
        return festival_day
    first = festival_day
    for _ in range(_MAX_RUN):
        before = first - dt.timedelta(days=1)
        if not official_days_off(before):
            break
        first = before
    return first


@functools.lru_cache(maxsize=512)
def greetings(year):
    """[(code, festival date, due date)] for the festivals of ``year``."""
    return tuple((code, day, greeting_day(day))
                 for code, day in sorted(festival_dates(year).items(), key=lambda x: x[1]))


def greetings_due(day):
    """[(code, festival date)] whose greeting falls due on ``day`` (a festival early in
    January may be greeted in the December before)."""
    return [(code, festival) for year in (day.year, day.year + 1)
            for code, festival, due in greetings(year) if due == day]


def title(code):
    return FESTIVALS[code][0]
