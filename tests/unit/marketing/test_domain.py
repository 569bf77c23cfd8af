"""marketing's business rules: state machine, audience mapping, templates, ROI, evaluation."""
import datetime as dt
from decimal import Decimal

import pytest

from services.marketing import domain

UTC = dt.UTC


# --- state machine ---------------------------------------------------------------
@pytest.mark.parametrize("state,action,target", [
    ("draft", "schedule", "scheduled"),
    ("scheduled", "launch", "running"),
    ("running", "complete", "completed"),
    ("draft", "cancel", "cancelled"),
    ("scheduled", "cancel", "cancelled"),
    ("running", "cancel", "cancelled"),
])
def test_legal_transitions(state, action, target):
    assert domain.next_state(state, action) == target


@pytest.mark.parametrize("state,action", [
    ("draft", "launch"), ("draft", "complete"), ("scheduled", "complete"),
    ("running", "schedule"), ("running", "launch"), ("completed", "cancel"),
    ("completed", "launch"), ("cancelled", "schedule"), ("cancelled", "launch"),
    ("cancelled", "cancel"), ("completed", "complete"),
])
def test_illegal_transitions(state, action):
    with pytest.raises(domain.IllegalTransition) as err:
        domain.next_state(state, action)
    assert state in str(err.value)


def test_every_state_reachable_and_terminal_states_final():
    reachable = {"draft"} | {t for _, t in domain.TRANSITIONS.values()}
    assert reachable == set(domain.STATES)
    for terminal in ("completed", "cancelled"):
        assert not any(terminal in starts for starts, _ in domain.TRANSITIONS.values())


def test_schedule_needs_a_complete_plan():
    plan = {"theme": "新品发布", "starts_at": dt.datetime(2026, 12, 1, tzinfo=UTC),
            "ends_at": dt.datetime(2026, 12, 2, tzinfo=UTC), "format": "salon",
            "owner_id": "m1", "location": None}
    assert domain.schedule_problems(plan) == {"location": "an offline campaign needs a location"}
    assert domain.schedule_problems(dict(plan, format="online")) == {}
    assert "theme" in domain.schedule_problems(dict(plan, theme=""))


def test_window():
    a = dt.datetime(2026, 12, 1, tzinfo=UTC)
    assert domain.window_problem(a, a) == "must be after starts_at"
    assert domain.window_problem(a, a + dt.timedelta(hours=1)) is None
    assert domain.window_problem(None, a) is None


def test_milestone_status():
    today = dt.date(2026, 12, 10)
    assert domain.milestone_status(None, dt.date(2026, 12, 9), today) == "overdue"
    assert domain.milestone_status(None, dt.date(2026, 12, 10), today) == "open"
    done = dt.datetime(2026, 12, 12, tzinfo=UTC)
    assert domain.milestone_status(done, dt.date(2026, 12, 9), today) == "done"


def test_local_today_uses_the_crm_timezone():
    from zoneinfo import ZoneInfo
    late_utc = dt.datetime(2026, 12, 9, 17, 0, tzinfo=UTC)  # 01:00 on the 10th in Shanghai
    assert domain.local_today(late_utc, ZoneInfo("Asia/Shanghai")) == dt.date(2026, 12, 10)


# --- audience --------------------------------------------------------------------
def test_audience_filter_maps_to_list_customers_filters():
    audience = {"tags_all": ["老客户", "重点跟进", "老客户"], "tags_any": [], "type": "closed",
                "tier": "key", "industry_code": "C35", "region": "上海"}
    assert domain.customer_filters(audience) == {
        "tags_all": ["老客户", "重点跟进"], "type": "closed", "tier": "key",
        "industry_code": "C35", "region": "上海"}
    assert domain.customer_filters({}) == {}
    assert domain.customer_filters(None) == {}
    assert domain.customer_filters({"region": "", "tier": None}) == {}


def test_snapshot_row_keeps_no_contact_data():
    customer = {"id": 7, "name": "上海某机械", "type": "closed", "tier": "key", "region": "上海",
                "industry_code": "C35", "tags": ["老客户"],
                "contacts": [{"name": "王芳", "mobile": "13912345678"}]}
    row = domain.snapshot_row(customer)
    assert row["customer_id"] == 7 and "contacts" not in row
    assert "13912345678" not in str(row)


def test_pages_needed():
    assert domain.pages_needed(0, 100) == 0
    assert domain.pages_needed(100, 100) == 1
    assert domain.pages_needed(101, 100) == 2


# --- templates -------------------------------------------------------------------
def test_template_problems():
    assert domain.template_problems("您好 $name，凭 ${coupon_code} 享 $offer") is None
    assert "unknown placeholder" in domain.template_problems("hi $mobile")
    assert "malformed" in domain.template_problems("price $5")
    assert domain.template_problems("价格 $$5") is None
    assert domain.template_problems(None) is None


def test_render_is_safe_and_personal():
    text = "$name 您好：$company 专享 $offer，券码 $coupon_code"
    values = {"name": "王芳", "company": "上海某机械", "offer": "满1万减1千",
              "coupon_code": domain.coupon_code(3, 9)}
    out = domain.render(text, values)
    assert out.startswith("王芳 您好：上海某机械 专享 满1万减1千，券码 C3-9-")
    # a missing value never raises
    assert domain.render("hi $name $unknown", {"name": None}) == "hi  $unknown"


def test_coupon_code_is_stable_and_distinct():
    assert domain.coupon_code(1, 2) == domain.coupon_code(1, 2)
    assert domain.coupon_code(1, 2) != domain.coupon_code(1, 3)


def test_pick_template_falls_back_to_default():
    templates = [{"id": 1, "segment": "default", "channel": "sms"},
                 {"id": 2, "segment": "strategic", "channel": "sms"},
                 {"id": 3, "segment": "strategic", "channel": "email"}]
    assert domain.pick_template(templates, "strategic", "sms")["id"] == 2
    assert domain.pick_template(templates, "normal", "sms")["id"] == 1
    assert domain.pick_template(templates, "normal", "email") is None
    assert domain.pick_template(templates, "strategic", "email")["id"] == 3


def test_segment_and_recipient():
    assert domain.participant_segment(None, "key", False) == "key"
    assert domain.participant_segment(None, None, True) == "contact"
    assert domain.participant_segment("vip", "key", False) == "vip"
    assert domain.recipient_for("email", "13900000000", "a@b.cn") == "a@b.cn"
    assert domain.recipient_for("sms", "13900000000", "a@b.cn") == "13900000000"


# --- ROI and evaluation ----------------------------------------------------------
def test_roi():
    assert domain.roi(Decimal("150000.00"), Decimal("50000.00")) == 2.0
    assert domain.roi(Decimal("10000"), Decimal("40000")) == -0.75
    assert domain.roi(Decimal("10000"), Decimal("0")) is None
    assert domain.roi(0, None) is None
    assert domain.roi(Decimal("1"), Decimal("3")) == -0.6667


def test_rate():
    assert domain.rate(1, 3) == 0.3333
    assert domain.rate(0, 0) is None


def _scenario():
    since = dt.datetime(2026, 11, 1, tzinfo=UTC)
    before = dt.datetime(2026, 10, 1, tzinfo=UTC)
    after = dt.datetime(2026, 11, 20, tzinfo=UTC)
    participants = [
        {"attended_at": after, "lead_generated_at": after, "scores": [5, 4]},
        {"attended_at": after, "lead_generated_at": after, "scores": [3]},
        {"attended_at": None, "lead_generated_at": after, "scores": []},
        {"attended_at": after, "lead_generated_at": None, "scores": []},
    ]
    leads = [
        {"lead_id": "L1", "campaign_id": "9", "customer_id": "100", "converted": True,
         "opportunity_id": "O1"},
        {"lead_id": "L2", "campaign_id": "9", "customer_id": "200", "converted": True,
         "opportunity_id": "O2"},
        {"lead_id": "L3", "campaign_id": "9", "customer_id": None, "converted": False,
         "opportunity_id": None},
    ]
    opportunities = [
        {"opportunity_id": "O1", "lead_id": "L1", "campaign_id": None, "customer_id": "100",
         "won": True},
        {"opportunity_id": "O2", "lead_id": "L2", "campaign_id": "9", "customer_id": "200",
         "won": False},
    ]
    orders = [
        # names the opportunity
        {"order_id": "A", "opportunity_id": "O1", "customer_id": "100", "campaign_id": None,
         "amount": Decimal("80000.00"), "placed": True, "placed_at": after, "cancelled": False},
        # same customer, no opportunity, after the campaign started: counts
        {"order_id": "B", "opportunity_id": None, "customer_id": "100", "campaign_id": None,
         "amount": Decimal("20000.00"), "placed": True, "placed_at": after, "cancelled": False},
        # same customer but before the campaign: does not count
        {"order_id": "C", "opportunity_id": None, "customer_id": "100", "campaign_id": None,
         "amount": Decimal("99999.00"), "placed": True, "placed_at": before, "cancelled": False},
        # cancelled: does not count
        {"order_id": "D", "opportunity_id": "O2", "customer_id": "200", "campaign_id": "9",
         "amount": Decimal("50000.00"), "placed": True, "placed_at": after, "cancelled": True},
        # changed but never placed (placed event not seen yet): does not count
        {"order_id": "E", "opportunity_id": "O2", "customer_id": "200", "campaign_id": "9",
         "amount": Decimal("7000.00"), "placed": False, "placed_at": None, "cancelled": False},
        # another customer's order naming the campaign: counts
        {"order_id": "F", "opportunity_id": None, "customer_id": "300", "campaign_id": "9",
         "amount": Decimal("10000.50"), "placed": True, "placed_at": after, "cancelled": False},
    ]
    return since, participants, leads, opportunities, orders


def test_evaluation_hand_computed():
    since, participants, leads, opps, orders = _scenario()
    campaign = {"id": 9, "state": "completed", "cost": Decimal("40000.00"),
                "budget": Decimal("50000.00"), "audience_size": 25}
    ev = domain.evaluation(campaign, participants, leads, opps, orders, since=since)
    assert ev["participants"] == 4
    assert ev["attended"] == 3
    assert ev["attendance_rate"] == 0.75
    assert ev["feedback_count"] == 3 and ev["feedback_average"] == 4.0
    assert ev["leads_generated"] == 3
    assert ev["leads_in_sales"] == 3
    assert ev["leads_converted"] == 2
    assert ev["lead_conversion_rate"] == 0.6667
    assert ev["opportunities"] == 2 and ev["opportunities_won"] == 1
    assert ev["orders"] == 3
    assert ev["won_amount"] == "110000.50"   # 80000 + 20000 + 10000.50
    assert ev["cost"] == "40000.00" and ev["budget"] == "50000.00"
    assert ev["roi"] == round((110000.50 - 40000) / 40000, 4)


def test_evaluation_empty_campaign_has_null_rates():
    ev = domain.evaluation({"id": 1, "state": "draft", "cost": Decimal("0")}, [], [], [], [])
    assert ev["attendance_rate"] is None and ev["roi"] is None
    assert ev["lead_conversion_rate"] is None and ev["feedback_average"] is None
    assert ev["won_amount"] == "0.00"
