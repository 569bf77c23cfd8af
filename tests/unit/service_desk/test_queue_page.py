"""The queue page's clock texts and row colours (services/service_desk/pages.py)."""
import datetime as dt

from services.common.web.i18n import translator
from services.service_desk.pages import clocks, row_state

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def ticket(fr_due_min, rs_due_min, responded=None, resolved=None, status="open"):
    def at(m):
        return None if m is None else (NOW + dt.timedelta(minutes=m)).isoformat()
    return {"first_response_due_at": at(fr_due_min), "resolution_due_at": at(rs_due_min),
            "first_responded_at": at(responded), "resolved_at": at(resolved), "status": status}


def test_clock_texts_in_zh_cn_and_row_colours():
    t = translator("zh_CN", "service_desk")
    c = clocks(ticket(-130, 45), NOW, t)
    assert [(x["name"], x["state"], x["text"]) for x in c] == [
        ("first_response", "breached", "已超时 2 小时 10 分"),
        ("resolution", "amber", "剩余 45 分钟")]
    assert row_state(c, "open") == "breached"
    c = clocks(ticket(-60, 3 * 24 * 60 + 90, responded=-70), NOW, t)
    assert [x["text"] for x in c] == ["按时完成", "剩余 3 天 1 小时"]
    assert row_state(c, "in_progress") == ""
    c = clocks(ticket(-300, -10, responded=-310, resolved=-5, status="resolved"), NOW, t)
    assert [x["state"] for x in c] == ["done", "late"] and c[1]["text"] == "完成，超时 5 分钟"
    assert row_state(c, "resolved") == ""  # no colour once resolved
    assert row_state(clocks(ticket(30, 200), NOW, t), "open") == "amber"
