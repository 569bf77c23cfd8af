"""sales' business rules as plain functions: no nameko, no I/O.

Stages and probabilities, legal transitions, order amounts and status,
payment rules, assignment rules and forecast periods (cut in CRM_TIMEZONE).
"""
import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from services.common.money import MAX as MONEY_MAX

SOURCES = ("trade_show", "website", "referral", "campaign", "phone", "other")
LEAD_STATUSES = ("new", "following_up", "converted", "disqualified")
OPEN_LEAD = ("new", "following_up")

STAGES = ("qualify", "propose", "negotiate")
CLOSED_STAGES = ("won", "lost")
PROBABILITY = {"qualify": Decimal("0.3"), "propose": Decimal("0.6"),
               "negotiate": Decimal("0.9"), "won": Decimal("1"), "lost": Decimal("0")}
PRICE_POSITIONS = ("lower", "similar", "higher")
ACTIVITY_CHANNELS = ("phone", "email", "sms", "wechat", "visit", "meeting", "online")
RULE_KINDS = ("region", "industry", "named", "round_robin")

CENT = Decimal("0.01")


# --- money ---------------------------------------------------------------------
def money(value):
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def plain_quantity(value):
    """1.500 → "1.5", 100.000 → "100" (never an exponent)."""
    q = Decimal(str(value))
    return str(q.quantize(Decimal(1)) if q == q.to_integral_value() else q.normalize())


def line_amount(quantity, unit_price):
    return money(Decimal(str(quantity)) * Decimal(str(unit_price)))


def order_amount(lines):
    """Σ quantity × unit_price over the lines, 2 places (Decimal, never float)."""
    return money(sum((line_amount(ln["quantity"], ln["unit_price"]) for ln in lines),
                     Decimal("0")))


def line_problem(quantity, unit_price):
    """None, or why the line's amount (quantity × unit_price, cents) does not fit
    the order line's Numeric(14, 2) amount column."""
    amount = line_amount(quantity, unit_price)
    if amount > MONEY_MAX:
        return (f"quantity × unit_price = {amount} exceeds {MONEY_MAX}, "
                "the most an order line holds")
    return None


def total_problem(lines):
    """None, or why Σ line amounts does not fit the order's Numeric(14, 2) amount."""
    total = order_amount(lines)
    if total > MONEY_MAX:
        return f"order total {total} exceeds {MONEY_MAX}, the most an order holds"
    return None


def payment_problem(amount, order_total, paid_total):
    """None if ``amount`` may be recorded, else a message (partial allowed, no over-payment)."""
    amount = money(amount)
    if amount <= 0:
        return "must be greater than 0"
    outstanding = money(order_total) - money(paid_total)
    if amount > outstanding:
        return f"exceeds the outstanding amount {outstanding}"
    return None


def payment_status(order_total, paid_total):
    paid, total = money(paid_total), money(order_total)
    if paid <= 0:
        return "unpaid"
    return "paid" if paid >= total else "partially_paid"


def order_status(cancelled, shipped, order_total, paid_total):
    """Derived from shipments and payments.

    cancelled | placed (nothing yet) | partially_paid | paid (not shipped) |
    shipped (not fully paid) | completed (shipped and fully paid)."""
    if cancelled:
        return "cancelled"
    pay = payment_status(order_total, paid_total)
    if shipped:
        return "completed" if pay == "paid" else "shipped"
    return {"unpaid": "placed", "partially_paid": "partially_paid", "paid": "paid"}[pay]


ORDER_STATUSES = ("placed", "partially_paid", "paid", "shipped", "completed", "cancelled")


def change_problem(cancelled, shipped, new_amount, paid_total, lines_changed):
    """None if an order change is allowed, else (field, message)."""
    if cancelled:
        return "_order", "a cancelled order cannot be changed"
    if shipped and lines_changed:
        return "lines", "the order has shipped: lines can no longer change"
    if new_amount is not None and money(new_amount) < money(paid_total):
        return "lines", f"the new amount is below what was already paid ({money(paid_total)})"
    return None


def cancel_problem(cancelled, shipped, paid_total):
    if cancelled:
        return "the order is already cancelled"
    if shipped:
        return "a shipped order cannot be cancelled"
    if money(paid_total) > 0:
        return "the order has payments: refund them before cancelling"
    return None


# --- stages ----------------------------------------------------------------------
def probability(stage):
    return float(PROBABILITY[stage])


def stage_problem(current, target):
    """None if ``current`` → ``target`` is legal, else why not.

    Open stages move one step forward or back (qualify ↔ propose ↔ negotiate);
    won only from negotiate; lost from any open stage; won/lost are final."""
    if current in CLOSED_STAGES:
        return f"the opportunity is already {current}"
    if target == current:
        return f"the opportunity is already in {current}"
    if target == "lost":
        return None
    if target == "won":
        return None if current == "negotiate" else "an opportunity is won from negotiate"
    if target not in STAGES:
        return f"unknown stage {target}"
    if abs(STAGES.index(target) - STAGES.index(current)) != 1:
        return f"cannot move from {current} to {target}: stages move one step at a time"
    return None


def seconds_between(start, end):
    return max(0, int((end - start).total_seconds()))


def time_in_stages(history, now):
    """{stage: seconds} summed over the stage history rows (open row counted to ``now``)."""
    out = {}
    for row in history:
        if row["stage"] in CLOSED_STAGES:
            continue
        end = row.get("left_at") or now
        out[row["stage"]] = out.get(row["stage"], 0) + seconds_between(row["entered_at"], end)
    return out


# --- follow-ups ------------------------------------------------------------------
def is_overdue(status, due_at, now):
    return status == "open" and due_at < now


def on_time(due_at, completed_at):
    return completed_at <= due_at


# --- assignment rules -------------------------------------------------------------
def validate_rules(rules):
    """{index: message} problems of a rules list (beyond the schema)."""
    problems = {}
    for i, rule in enumerate(rules):
        kind = rule["kind"]
        if kind == "round_robin":
            if not rule.get("team"):
                problems[str(i)] = "a round_robin rule needs a non-empty team"
            elif i != len(rules) - 1:
                problems[str(i)] = "round_robin is the fallback: it must be the last rule"
            continue
        if not rule.get("owner_id"):
            problems[str(i)] = f"a {kind} rule needs an owner_id"
        elif kind == "region" and not rule.get("region"):
            problems[str(i)] = "a region rule needs a region"
        elif kind == "industry" and not rule.get("industry_code"):
            problems[str(i)] = "an industry rule needs an industry_code"
    return problems


def _named_matches(rule, lead):
    keys = [k for k in ("customer_id", "customer_name", "source", "campaign_id")
            if rule.get(k) not in (None, "")]
    for k in keys:
        if str(lead.get(k) or "").strip().lower() != str(rule[k]).strip().lower():
            return False
    return True


def rule_matches(rule, lead):
    kind = rule["kind"]
    if kind == "region":
        return bool(lead.get("region")) and lead["region"].strip() == rule["region"].strip()
    if kind == "industry":
        code = (lead.get("industry_code") or "").upper()
        return bool(code) and code.startswith(rule["industry_code"].upper())
    if kind == "named":
        return _named_matches(rule, lead)
    return kind == "round_robin"


def choose_owner(rules, lead, cursor=0):
    """First matching rule wins → (owner_id, rule kind, next round-robin cursor).

    Rules are evaluated in order; round_robin (the fallback, always last) takes
    the team member at ``cursor`` and advances it. (None, None, cursor) if none
    matches."""
    for rule in rules:
        if not rule_matches(rule, lead):
            continue
        if rule["kind"] == "round_robin":
            team = list(rule["team"])
            return team[cursor % len(team)], "round_robin", (cursor + 1) % len(team)
        return rule["owner_id"], rule["kind"], cursor
    return None, None, cursor


# --- periods -------------------------------------------------------------------------
_PERIOD = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$")


def parse_period(period, tz_name="Asia/Shanghai"):
    """``2026-11`` | ``2026-Q4`` | ``2026`` → (first date, last date, start, end) where
    start/end are aware UTC datetimes of the local period bounds [start, end)."""
    m = _PERIOD.match(str(period or "").strip())
    if not m:
        raise ValueError("period must be YYYY-MM, YYYY-Qn or YYYY")
    year = int(m.group(1))
    if m.group(2):
        first = dt.date(year, int(m.group(2)), 1)
        nxt = dt.date(year + (first.month == 12), first.month % 12 + 1, 1)
    elif m.group(3):
        q = int(m.group(3))
        first = dt.date(year, 3 * q - 2, 1)
        nxt = dt.date(year + 1, 1, 1) if q == 4 else dt.date(year, 3 * q + 1, 1)
    else:
        first, nxt = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    tz = ZoneInfo(tz_name)
    start = dt.datetime.combine(first, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(nxt, dt.time(), tz).astimezone(dt.UTC)
    return first, nxt - dt.timedelta(days=1), start, end


def local_date(moment, tz_name="Asia/Shanghai"):
    return moment.astimezone(ZoneInfo(tz_name)).date()


def _rounded(bucket):
    return dict(bucket, amount=money(bucket["amount"]),
                weighted_amount=money(bucket["weighted_amount"]))


def forecast(opportunities, period, first, last):
    """KPIS.md weighted pipeline over open opportunities whose expected close date
    is in [first, last]: Σ amount × stage probability, by owner and by stage.

    Each sum is exact (amount × probability has 3 places) and rounded once, half-up
    to cents (the rule of ``services.common.money.round_cents``), as reporting's
    ``weighted_pipeline`` is: three 1000.05 at 30 % are 900.045 -> 900.05, not
    3 × 300.02."""
    by_owner, by_stage = {}, {}
    total = weighted = Decimal("0")
    count = 0
    for opp in opportunities:
        if opp["stage"] not in STAGES:
            continue
        close = opp.get("expected_close_date")
        if close is None or not first <= close <= last:
            continue
        amount = money(opp["amount"] or 0)
        w = amount * PROBABILITY[opp["stage"]]  # exact; rounded once, below
        count += 1
        total += amount
        weighted += w
        for key, bucket in ((opp["owner_id"], by_owner), (opp["stage"], by_stage)):
            b = bucket.setdefault(key, {"count": 0, "amount": Decimal("0"),
                                        "weighted_amount": Decimal("0")})
            b["count"] += 1
            b["amount"] += amount
            b["weighted_amount"] += w
    return {
        "period": period, "from_date": first, "to_date": last, "count": count,
        "amount": money(total), "weighted_amount": money(weighted),
        "by_owner": [dict(owner_id=k, **_rounded(v)) for k, v in
                     sorted(by_owner.items(), key=lambda kv: str(kv[0]))],
        "by_stage": [dict(stage=s, probability=probability(s), **_rounded(by_stage[s]))
                     for s in STAGES if s in by_stage],
    }
