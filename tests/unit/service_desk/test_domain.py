"""service_desk domain rules: SLA clocks and breaches, transitions, care occasions,
assignment, FAQ tokenising and ranking. Plain functions, an injected clock."""
import datetime as dt
from types import SimpleNamespace

import pytest

from services.common.errors import Conflict
from services.service_desk import domain

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


@pytest.mark.parametrize("severity,first,resolution", [
    ("critical", 1, 4), ("high", 4, 24), ("medium", 8, 72), ("low", 24, 120)])
def test_sla_due_times_are_calendar_hours(severity, first, resolution):
    assert domain.first_response_due(severity, T0) == T0 + first * H
    assert domain.resolution_due(severity, T0) == T0 + resolution * H


def test_sla_counts_calendar_hours_across_weekend_and_holiday():
    friday_evening = dt.datetime(2026, 9, 30, 22, 0, tzinfo=dt.UTC)  # eve of National Day
    assert domain.resolution_due("high", friday_evening) == dt.datetime(
        2026, 10, 1, 22, 0, tzinfo=dt.UTC)


def _ticket(severity="critical", responded=None, resolved=None, fr_reported=None,
            res_reported=None):
    return SimpleNamespace(
        first_response_due_at=domain.first_response_due(severity, T0),
        resolution_due_at=domain.resolution_due(severity, T0),
        first_responded_at=responded, resolved_at=resolved,
        first_response_breached_at=fr_reported, resolution_breached_at=res_reported)


def test_no_breach_before_due():
    assert domain.breached_clocks(_ticket(), T0 + 0.5 * H) == []
    assert domain.breached_clocks(_ticket(), T0 + 1 * H) == []  # due is inclusive


def test_first_response_breach_then_resolution_breach():
    t = _ticket()
    assert domain.breached_clocks(t, T0 + 2 * H) == [("first_response", T0 + H)]
    assert domain.breached_clocks(t, T0 + 5 * H) == [("first_response", T0 + H),
                                                      ("resolution", T0 + 4 * H)]


def test_breach_reported_once():
    t = _ticket(fr_reported=T0 + 2 * H)
    assert domain.breached_clocks(t, T0 + 3 * H) == []


def test_work_done_in_time_never_breaches():
    t = _ticket(responded=T0 + 0.5 * H, resolved=T0 + 3 * H)
    assert domain.breached_clocks(t, T0 + 100 * H) == []


def test_work_done_late_is_still_a_breach():
    t = _ticket(responded=T0 + 2 * H, resolved=T0 + 5 * H)
    assert [c for c, _ in domain.breached_clocks(t, T0 + 6 * H)] == ["first_response",
                                                                      "resolution"]


@pytest.mark.parametrize("status,action,after", [
    ("open", "respond", "in_progress"), ("in_progress", "respond", "in_progress"),
    ("open", "progress", "open"), ("in_progress", "coordinate", "in_progress"),
    ("open", "resolve", "resolved"), ("in_progress", "resolve", "resolved"),
    ("resolved", "close", "closed"), ("resolved", "reopen", "in_progress"),
    ("closed", "reopen", "in_progress"), ("open", "assign", "open")])
def test_legal_transitions(status, action, after):
    assert domain.check_transition(status, action) == after


@pytest.mark.parametrize("status,action", [
    ("open", "close"), ("in_progress", "close"), ("closed", "close"), ("open", "reopen"),
    ("in_progress", "reopen"), ("resolved", "resolve"), ("closed", "resolve"),
    ("resolved", "respond"), ("closed", "progress"), ("closed", "assign"),
    ("resolved", "coordinate")])
def test_illegal_transitions_conflict(status, action):
    with pytest.raises(Conflict) as err:
        domain.check_transition(status, action)
    assert err.value.code == "ILLEGAL_TRANSITION"


def test_pick_agent_least_loaded_then_category_then_id():
    agents = [("a1", ["billing"]), ("a2", []), ("a3", ["billing", "delivery"])]
    assert domain.pick_agent(agents, {"a1": 3, "a2": 1, "a3": 2}) == "a2"
    assert domain.pick_agent(agents, {"a1": 3, "a2": 1, "a3": 2}, "billing") == "a3"
    assert domain.pick_agent(agents, {}, "billing") == "a1"
    assert domain.pick_agent(agents, {"a2": 5}, "unknown") == "a1"  # nobody covers: all
    assert domain.pick_agent([], {}) is None


def _plan(kind, start=dt.date(2026, 1, 1), expiry=None, interval=None):
    return SimpleNamespace(kind=kind, start_date=start, expiry_date=expiry,
                           interval_days=interval)


def test_birthday_occasions_from_contacts():
    contacts = [("c1", "张三", dt.date(1980, 5, 20)), ("c2", "李四", dt.date(1990, 7, 1)),
                ("c3", "王五", None)]
    got = domain.occasions_on(_plan("birthday"), dt.date(2026, 5, 20), contacts)
    assert got == [("birthday:c1:2026", "生日祝福：张三")]
    assert domain.occasions_on(_plan("birthday"), dt.date(2026, 5, 21), contacts) == []


def test_leap_day_birthday_in_common_year():
    contacts = [("c4", "赵六", dt.date(1988, 2, 29))]
    assert domain.occasions_on(_plan("birthday"), dt.date(2026, 2, 28), contacts)
    assert domain.birthday_in_year(dt.date(1988, 2, 29), 2028) == dt.date(2028, 2, 29)


def test_holiday_greeting_on_first_day_of_each_public_holiday():
    plan = _plan("holiday")
    assert domain.occasions_on(plan, dt.date(2026, 10, 1)) == [
        ("holiday:national_day:2026-10-01", "节日问候：国庆节")]
    assert domain.occasions_on(plan, dt.date(2026, 10, 2)) == []  # same holiday continues
    assert domain.occasions_on(plan, dt.date(2026, 2, 15))[0][1] == "节日问候：春节"
    assert domain.occasions_on(plan, dt.date(2026, 3, 7)) == []  # a plain weekend


def test_holiday_years_without_published_arrangement_still_greet():
    # was "years without data give nothing" (the bug of issue 16 7c): 国庆 is 1 October by law
    assert domain.occasions_on(_plan("holiday"), dt.date(2035, 10, 1)) == [
        ("holiday:national_day:2035-10-01", "节日问候：国庆节")]


def test_contract_expiry_reminder_three_months_before():
    assert domain.contract_reminder_date(dt.date(2027, 3, 15)) == dt.date(2026, 12, 15)
    assert domain.contract_reminder_date(dt.date(2027, 5, 31)) == dt.date(2027, 2, 28)
    plan = _plan("contract_expiry", expiry=dt.date(2027, 3, 15))
    assert domain.occasions_on(plan, dt.date(2026, 12, 15)) == [
        ("contract_expiry:2027-03-15", "合同到期提醒：2027-03-15 到期")]
    assert domain.occasions_on(plan, dt.date(2026, 12, 14)) == []


def test_periodic_visit_only_for_strategic_and_key():
    plan = _plan("periodic_visit", interval=30)
    day = dt.date(2026, 1, 31)
    assert domain.occasions_on(plan, day, tier="key")
    assert domain.occasions_on(plan, day, tier="normal") == []
    assert domain.occasions_on(plan, dt.date(2026, 1, 1), tier="key") == []  # not on day 0
    assert domain.occasions_on(plan, dt.date(2026, 2, 15), tier="key") == []


def test_nothing_due_before_plan_starts():
    plan = _plan("holiday", start=dt.date(2026, 10, 2))
    assert domain.occasions_on(plan, dt.date(2026, 10, 1)) == []


def test_tokens_words_and_cjk_bigrams():
    assert domain.tokens("如何退货") == ["如何退货", "如何", "何退", "退货"]
    assert domain.tokens("VPN 连接 失败 vpn") == ["vpn", "连接", "失败"]
    assert domain.tokens("发票") == ["发票"]
    assert domain.tokens("?!") == []


def test_ranking_prefers_question_hits_and_phrase():
    q = "退货流程"
    terms = domain.tokens(q)
    in_question = domain.score(q, terms, "退货流程是什么？", "联系客服办理。", "售后")
    in_answer = domain.score(q, terms, "如何联系客服", "退货流程：登录后提交申请。", "售后")
    partial = domain.score(q, terms, "退款多久到账", "退货后三个工作日内退款。", "售后")
    unrelated = domain.score(q, terms, "发票怎么开", "在订单页申请电子发票。", "财务")
    assert in_question > in_answer > partial > unrelated == 0


def test_ranking_is_case_insensitive_for_latin_words():
    terms = domain.tokens("VPN")
    assert domain.score("VPN", terms, "How to set up the vpn", "", "it") > 0
