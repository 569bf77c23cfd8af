"""The dashboard's choices, with expected values written here by hand: which staff are
ranked and how top / bottom are cut, the funnel's count axis (never the −10 … 10 of a
mirrored pygal Funnel), the lag origin of back-dated events, and the links."""
import datetime as dt
import math
import re
from urllib.parse import parse_qs, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from services.common.web import i18n
from services.reporting import commands, dashboard, ranking, receipt
from services.reporting.models import EventLog
from tests.unit.reporting.harness import Harness, at, lead


def card(emp, score, role="sales"):
    return {"employee_id": emp, "role": role, "score": score, "period": "2026-11", "items": []}


def ids(cards):
    return [c["employee_id"] for c in cards]


# --- top 5 / bottom 5 ---------------------------------------------------------------------
def test_twelve_staff_give_five_best_and_five_worst_worst_first():
    scores = {"a": 91, "b": 85, "c": 85, "d": 70, "e": 66, "f": 60, "g": 55, "h": 50,
              "i": 42, "j": 30, "k": 12, "l": 5}
    top, bottom = ranking.top_bottom([card(e, s) for e, s in scores.items()])
    assert ids(top) == ["a", "b", "c", "d", "e"]  # 85 tie: by id
    assert ids(bottom) == ["l", "k", "j", "i", "h"]


def test_three_staff_are_split_not_repeated():
    # the demo's u1..u3: the old dashboard showed all three in the top 5 AND in the bottom 5
    top, bottom = ranking.top_bottom([card("u1", 88.13), card("u2", 45.0), card("u3", 61.5)])
    assert ids(top) == ["u1", "u3"] and ids(bottom) == ["u2"]


def test_seven_staff():
    top, bottom = ranking.top_bottom([card(f"e{i}", 10 * i) for i in range(1, 8)])
    assert ids(top) == ["e7", "e6", "e5", "e4"] and ids(bottom) == ["e1", "e2", "e3"]


def test_one_or_none_scored():
    assert ranking.top_bottom([card("solo", 50)]) == ([card("solo", 50)], [])
    assert ranking.top_bottom([card("x", None), card("y", None)]) == ([], [])
    top, bottom = ranking.top_bottom([card("x", None), card("y", 3), card("z", 0)])
    assert ids(top) == ["y"] and ids(bottom) == ["z"]  # unscored left out; 0 is a score


@given(st.dictionaries(st.text("abcdefgh", min_size=1, max_size=4),
                       st.one_of(st.none(), st.floats(0, 150, allow_nan=False)), max_size=30))
def test_top_and_bottom_are_disjoint_and_ordered(scores):
    top, bottom = ranking.top_bottom([card(e, s) for e, s in scores.items()])
    scored = sum(s is not None for s in scores.values())
    assert not set(ids(top)) & set(ids(bottom))
    assert len(top) == min(5, math.ceil(scored / 2))
    assert len(bottom) == min(5, scored - len(top))
    assert all(t["score"] >= b["score"] for t in top for b in bottom)
    assert [c["score"] for c in top] == sorted((c["score"] for c in top), reverse=True)
    assert [c["score"] for c in bottom] == sorted(c["score"] for c in bottom)


def test_managers_are_not_staff():
    rows = [{"employee_id": "u1", "department": "sales", "manual_department": None},
            {"employee_id": "boss2", "department": "management",
             "manual_department": "management"}]
    out = ranking.managers({"REPORTING_MANAGERS": ["vp"]}, rows)
    assert {"m1", "vp", "boss2"} <= out  # m1: the directory's manager (周经理)
    assert "u1" not in out and "s1" not in out and "mk1" not in out


# --- the funnel's axis ----------------------------------------------------------------------
def test_count_axis_by_hand():
    assert dashboard.count_axis([0, 0, 0]) == (1, [0, 1])
    assert dashboard.count_axis([]) == (1, [0, 1])
    assert dashboard.count_axis([None, None]) == (1, [0, 1])
    assert dashboard.count_axis([3, 1, 0]) == (3, [0, 1, 2, 3])
    assert dashboard.count_axis([5]) == (5, [0, 1, 2, 3, 4, 5])
    assert dashboard.count_axis([6, 2]) == (6, [0, 2, 4, 6])
    assert dashboard.count_axis([7]) == (8, [0, 2, 4, 6, 8])
    assert dashboard.count_axis([40, 12, 3]) == (40, [0, 10, 20, 30, 40])
    assert dashboard.count_axis([123, 80]) == (150, [0, 50, 100, 150])
    assert dashboard.count_axis([1001]) == (1500, [0, 500, 1000, 1500])  # 200 would be 6 steps


def _texts(svg):
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def test_funnel_chart_axis_without_data_is_0_to_1():
    t = i18n.translator("zh_CN", "reporting")
    svg = dashboard.funnel_chart(t, {"leads": 0, "opportunities": 0, "won": 0})
    texts = _texts(svg)
    assert not [x for x in texts if x.startswith(("-", "−"))], texts
    assert "0" in texts and "1" in texts and "10" not in texts
    assert {"线索", "商机", "赢单"} <= set(texts)


def test_funnel_chart_with_counts():
    t = i18n.translator("en", "reporting")
    svg = dashboard.funnel_chart(t, {"leads": 40, "opportunities": 12, "won": 3})
    texts = _texts(svg)
    assert not [x for x in texts if x.startswith(("-", "−"))], texts
    for tick in ("0", "10", "20", "30", "40"):
        assert tick in texts
    labels = [x for x in texts if x in ("Leads", "Opportunities", "Won")]
    assert labels[:3] == ["Won", "Opportunities", "Leads"]  # drawn bottom-up: leads on top


# --- freshness: lag from when the event reached us -------------------------------------------
def test_origin_takes_the_relay_header_or_the_receive_time():
    got = at("2026-12-07T04:00:05")
    assert receipt.origin({"crm_published_at": "2026-12-07T04:00:04.500000+00:00"}, got) == \
        at("2026-12-07T04:00:04.5")
    assert receipt.origin({}, got) == got
    assert receipt.origin({"crm_published_at": "garbage"}, got) == got
    assert receipt.origin({"crm_published_at": "2026-12-07T04:00:04"}, got) == got  # naive
    assert receipt.origin({"crm_published_at": "2026-12-07T05:00:00+00:00"}, got) == got


def test_back_dated_event_lag_runs_from_its_origin():
    h = Harness()
    months_ago = lead("lead_created", "2026-08-01T09:00", 7001, source="website")
    now = at("2026-12-07T04:00:02")
    with h.Session() as s:
        [lag] = commands.apply_batch(s, [months_ago], h.tz, now=now, origins={
            str(months_ago["event_id"]): at("2026-12-07T04:00:00.5")})
        s.commit()
        logged = s.query(EventLog).one()
    assert lag == 1.5 and logged.lag_seconds == 1.5
    again = lead("lead_created", "2026-08-01T09:00", 7002, source="website")
    with h.Session() as s:  # no origin (tests, rebuild callers): occurred_at as before
        [lag] = commands.apply_batch(s, [again], h.tz, now=at("2026-08-01T09:00:03"))
    assert lag == 3.0


# --- links -----------------------------------------------------------------------------------
def _target(href):
    parts = urlsplit(href)
    return parts.path, parse_qs(parts.query)["to"][0]


def test_tile_links_go_to_the_list_behind_them():
    assert _target(dashboard.tile_link("churn_rate", "2026-11")) == \
        ("/app/open/customers", "/app/customers?type=lost")
    assert _target(dashboard.tile_link("sales_amount", "2026-Q4", {"owner_id": "u1"})) == \
        ("/app/open/sales", "/app/orders?owner_id=u1")
    assert _target(dashboard.tile_link("weighted_pipeline", "2026-Q4")) == \
        ("/app/open/sales", "/app/forecast?period=2026-Q4")
    assert _target(dashboard.tile_link("complaint_timeliness_rate", "2026-11")) == \
        ("/app/open/service_desk", "/app/tickets?view=all&kind=complaint")
    assert set(dashboard.TILE_LISTS) == set(dashboard.TILES)


def sample():
    return {"period": "2026-11", "scope": {}, "timezone": "Asia/Shanghai",
            "kpis": dict({k: None for k in dashboard.TILES}, campaigns=[],
                         tickets_new_by_kind={"inquiry": 1, "complaint": 2, "suggestion": 0}),
            "trend": [], "funnel": {"leads": 0, "opportunities": 0, "won": 0, "converted": 0},
            "watchlist": {"items": [{"customer_id": "12", "name": "甲公司", "owner_id": "u1",
                                     "signals": ["low_csat"], "risk_score": 25}], "total": 1},
            "freshness": {"lag_p50_seconds": 0.02, "lag_p95_seconds": 0.5, "events_applied": 9,
                          "last_applied_at": None},
            "channels": {"by_source": []}, "top_scorecards": [], "bottom_scorecards": [],
            "rankings": {"sales": {"top": [card("u1", 80)], "bottom": [card("u2", 20)]},
                         "service": {"top": [], "bottom": []}}}


def test_view_words_are_in_the_page_language():
    v = dashboard.view(sample(), i18n.translator("zh_CN", "reporting"),
                       today=dt.date(2026, 12, 7))
    labels = {tile["key"]: tile["label"] for tile in v["tiles"]}
    assert labels["tickets_new_by_kind.complaint"] == "新增工单 · 投诉"
    assert labels["tickets_new_by_kind.inquiry"] == "新增工单 · 咨询"
    assert v["watch"][0]["signal_text"] == "最近满意度 ≤ 2"
    assert _target(v["watch"][0]["href"]) == ("/app/open/customers", "/app/customers/12")
    assert [r["label"] for r in v["rankings"]] == ["销售", "客服"]
    assert v["rankings"][0]["top"][0]["href"] == "/app/scorecards/u1?period=2026-11"
    assert v["fresh"]["p50"] == "0.02 秒"


def test_static_report_has_no_links_and_no_script():
    html = dashboard.render_report(sample(), "en")
    assert html.startswith("<!DOCTYPE html>") and "Management dashboard" in html
    assert "<script" not in html and "href=" not in html and "/app/open/" not in html
    assert 'data-kpi="tickets_new_by_kind.complaint"' in html and "<style>" in html
    assert "New tickets · Complaint" in html


def test_scorecard_rows_link_to_that_persons_list():
    data = sample()
    data["rankings"]["service"] = {"top": [card("s2", 90, role="service")], "bottom": []}
    v = dashboard.view(data, i18n.translator("zh_CN", "reporting"), today=dt.date(2026, 12, 7))
    sales, service = v["rankings"]
    assert _target(sales["top"][0]["list_href"]) == ("/app/open/sales", "/app/leads?owner_id=u1")
    assert _target(service["top"][0]["list_href"]) == \
        ("/app/open/service_desk", "/app/tickets?view=all&assignee_id=s2")


def test_campaign_roi_is_a_percentage_with_one_decimal():
    # roi is (won - cost) / cost; the page shows it x100 with the kit's number format.
    data = sample()
    rows = [("1", "无成交", -1.0), ("2", "翻倍", 1.0), ("3", "小赚", 0.1234),
            ("4", "大赚", 12.5), ("5", "无成本", None)]
    data["kpis"]["campaigns"] = [
        {"campaign_id": cid, "theme": theme, "participants": 3, "leads_generated": 2,
         "leads_converted": 1, "won_amount": "0.00", "cost": "100.00", "roi": roi}
        for cid, theme, roi in rows]
    html = dashboard.render_report(data, "en")
    roi_cell = r'<tr data-campaign="(\d+)">.*?<td class="num" data-roi="[^"]*">([^<]*)</td>'
    cells = dict(re.findall(roi_cell, html))
    assert cells == {"1": "-100.0%", "2": "100.0%", "3": "12.3%", "4": "1,250.0%", "5": "—"}
    assert ">-1.0<" not in html


def test_the_time_zone_is_said_in_words_not_as_an_iana_name():
    """The dashboard's header read "Asia/Shanghai" inside the zh-CN page."""
    zh = dashboard.view(sample(), i18n.translator("zh_CN", "reporting"),
                        today=dt.date(2026, 12, 7))
    assert zh["timezone"] == "时区：北京时间"
    en = dashboard.view(sample(), i18n.translator("en", "reporting"),
                        today=dt.date(2026, 12, 7))
    assert en["timezone"] == "Time zone: China Standard Time (Beijing)"
    other = dict(sample(), timezone="Europe/Berlin")  # not in the catalogue: its name
    assert dashboard.view(other, i18n.translator("zh_CN", "reporting"),
                          today=dt.date(2026, 12, 7))["timezone"] == "时区：Europe/Berlin"
