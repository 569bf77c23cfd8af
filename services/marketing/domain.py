"""marketing's business rules as plain functions: no nameko, no I/O.

Campaign states (policy 五, 市场活动管理: plan → execute → evaluate)::

    draft ──schedule──▶ scheduled ──launch──▶ running ──complete──▶ completed
      │                     │                    │
      └──────cancel─────────┴──────cancel────────┴──▶ cancelled

Anything else is a Conflict.
"""
import datetime as dt
import hashlib
import string
from decimal import ROUND_HALF_UP, Decimal

FORMATS = ("online", "offline", "exhibition", "salon", "promotion")
STATES = ("draft", "scheduled", "running", "completed", "cancelled")
CHANNELS = ("email", "sms", "wechat")
AUDIENCE_KEYS = ("tags_all", "tags_any", "type", "tier", "industry_code", "region")
CUSTOMER_TYPES = ("potential", "closed", "lost")
TIERS = ("strategic", "key", "normal")
DEFAULT_SEGMENT = "default"
CONTACT_SEGMENT = "contact"

# action -> (states it may start from, state it leads to)
TRANSITIONS = {
    "schedule": (("draft",), "scheduled"),
    "launch": (("scheduled",), "running"),
    "complete": (("running",), "completed"),
    "cancel": (("draft", "scheduled", "running"), "cancelled"),
}

# what may happen to a campaign in which state
PLAN_EDITABLE = ("draft", "scheduled")          # theme, window, audience, format, ...
COST_EDITABLE = ("draft", "scheduled", "running", "completed")  # actual cost comes in late
REGISTRATION_OPEN = ("scheduled", "running")
CHECK_IN_OPEN = ("running",)
FEEDBACK_OPEN = ("running", "completed")
LEADS_OPEN = ("running", "completed")
OUTREACH_OPEN = ("scheduled", "running", "completed")
MILESTONES_OPEN = ("draft", "scheduled", "running")


class IllegalTransition(Exception):
    def __init__(self, action, state):
        allowed, _ = TRANSITIONS[action]
        super().__init__(f"cannot {action} a {state} campaign "
                         f"(only from {', '.join(allowed)})")
        self.action, self.state = action, state


def next_state(state, action):
    """The state after ``action`` from ``state``; IllegalTransition if not allowed."""
    allowed, target = TRANSITIONS[action]
    if state not in allowed:
        raise IllegalTransition(action, state)
    return target


def allowed(state, states):
    return state in states


# --- plan ------------------------------------------------------------------------
def window_problem(starts_at, ends_at):
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        return "must be after starts_at"
    return None


def schedule_problems(plan):
    """What a plan lacks before it can be scheduled: {field: message}."""
    out = {}
    for key in ("theme", "starts_at", "ends_at", "format", "owner_id"):
        if not plan.get(key):
            out[key] = "required before the campaign can be scheduled"
    if plan.get("format") in ("offline", "exhibition", "salon") and not plan.get("location"):
        out["location"] = "an offline campaign needs a location"
    return out


def milestone_status(completed_at, due_date, today):
    if completed_at is not None:
        return "done"
    if due_date is not None and due_date < today:
        return "overdue"
    return "open"


def local_today(now, tz):
    return now.astimezone(tz).date()


# --- audience --------------------------------------------------------------------
def customer_filters(audience):
    """Campaign audience filter → ``customers.list_customers`` filters (empties dropped)."""
    audience = audience or {}
    out = {}
    for key in AUDIENCE_KEYS:
        value = audience.get(key)
        if value in (None, "", []):
            continue
        out[key] = sorted(set(value)) if isinstance(value, list) else value
    return out


def snapshot_row(customer):
    """The non-PII slice of a customer kept in the audience snapshot."""
    return {"customer_id": customer["id"], "name": customer.get("name"),
            "type": customer.get("type"), "tier": customer.get("tier"),
            "region": customer.get("region"), "industry_code": customer.get("industry_code"),
            "tags": list(customer.get("tags") or [])}


def pages_needed(total, page_size):
    return max(0, -(-int(total) // int(page_size)))


# --- participants / segments -----------------------------------------------------
def participant_segment(explicit, tier, is_contact):
    if explicit:
        return explicit
    if is_contact:
        return CONTACT_SEGMENT
    return tier or DEFAULT_SEGMENT


# --- outreach templates ----------------------------------------------------------
PLACEHOLDERS = ("name", "company", "theme", "location", "starts_at", "ends_at", "offer",
                "coupon_code", "campaign_id")


def template_problems(text):
    """Unknown or malformed ``$placeholders`` in a template text, else None."""
    if text is None:
        return None
    tpl = string.Template(text)
    if not tpl.is_valid():
        return "malformed placeholder (use $name or ${name}; $$ for a dollar sign)"
    unknown = sorted(set(tpl.get_identifiers()) - set(PLACEHOLDERS))
    if unknown:
        return (f"unknown placeholder(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(PLACEHOLDERS)}")
    return None


def coupon_code(campaign_id, participant_id, secret=""):
    digest = hashlib.sha256(f"{secret}:{campaign_id}:{participant_id}".encode()).hexdigest()
    return f"C{campaign_id}-{participant_id}-{digest[:6].upper()}"


def render(text, values):
    """Safe substitution: a missing value leaves its placeholder text, never raises."""
    if text is None:
        return None
    clean = {k: ("" if v is None else str(v)) for k, v in values.items()}
    return string.Template(text).safe_substitute(clean)


def pick_template(templates, segment, channel):
    """The participant's segment template for ``channel``, else the default segment's."""
    by_key = {(t["segment"], t["channel"]): t for t in templates}
    return by_key.get((segment, channel)) or by_key.get((DEFAULT_SEGMENT, channel))


def recipient_for(channel, mobile, email):
    if channel == "email":
        return email
    return mobile  # sms and wechat (wechat is bound to the mobile number)


# --- evaluation ------------------------------------------------------------------
TWO = Decimal("0.01")


def money(value):
    return Decimal(str(value or 0)).quantize(TWO, rounding=ROUND_HALF_UP)


def rate(numerator, denominator):
    """KPIS.md: a rate whose denominator is 0 is null; 4 places."""
    if not denominator:
        return None
    return round(numerator / denominator, 4)


def roi(won_amount, cost):
    """(won − cost) / cost, null when cost is 0; 4 places."""
    cost = Decimal(str(cost or 0))
    if cost == 0:
        return None
    return round(float((Decimal(str(won_amount or 0)) - cost) / cost), 4)


def attributed_orders(campaign_id, since, leads, opportunities, orders):
    """Orders that count for a campaign (KPIS.md ``campaigns.won_amount``).

    ``leads``/``opportunities``/``orders`` are lists of dicts as stored from sales
    events. An order counts when it names the campaign, or belongs to one of the
    campaign's opportunities, or was placed (at or after ``since``) by a customer of
    one of those opportunities. Cancelled orders never count.
    """
    cid = str(campaign_id)
    lead_ids = {lead["lead_id"] for lead in leads if lead.get("campaign_id") == cid}
    opps = [o for o in opportunities
            if o.get("campaign_id") == cid or (o.get("lead_id") in lead_ids)]
    opp_ids = {o["opportunity_id"] for o in opps}
    opp_ids |= {lead["opportunity_id"] for lead in leads
                if lead.get("campaign_id") == cid and lead.get("opportunity_id")}
    customers = {o["customer_id"] for o in opps if o.get("customer_id")}
    customers |= {lead["customer_id"] for lead in leads
                  if lead.get("campaign_id") == cid and lead.get("converted")
                  and lead.get("customer_id")}
    out = []
    for o in orders:
        if o.get("cancelled") or not o.get("placed"):
            continue
        if o.get("campaign_id") == cid or o.get("opportunity_id") in opp_ids:
            out.append(o)
        elif o.get("customer_id") in customers and (
                since is None or o.get("placed_at") is None or o["placed_at"] >= since):
            out.append(o)
    return out


def evaluation(campaign, participants, leads, opportunities, orders, since=None):
    """The evaluation numbers of one campaign from plain data (see evaluate_campaign)."""
    cid = str(campaign["id"])
    total = len(participants)
    attended = sum(1 for p in participants if p.get("attended_at"))
    scores = [s for p in participants for s in p.get("scores", ())]
    generated = sum(1 for p in participants if p.get("lead_generated_at"))
    camp_leads = [lead for lead in leads if lead.get("campaign_id") == cid]
    converted = sum(1 for lead in camp_leads if lead.get("converted"))
    lead_ids = {lead["lead_id"] for lead in camp_leads}
    camp_opps = [o for o in opportunities
                 if o.get("campaign_id") == cid or o.get("lead_id") in lead_ids]
    won_opps = [o for o in camp_opps if o.get("won")]
    won_orders = attributed_orders(cid, since, leads, opportunities, orders)
    won_amount = money(sum((Decimal(str(o["amount"] or 0)) for o in won_orders), Decimal(0)))
    cost = money(campaign.get("cost"))
    return {
        "campaign_id": campaign["id"],
        "state": campaign.get("state"),
        "audience_size": campaign.get("audience_size"),
        "participants": total,
        "attended": attended,
        "attendance_rate": rate(attended, total),
        "feedback_count": len(scores),
        "feedback_average": round(sum(scores) / len(scores), 2) if scores else None,
        "leads_generated": generated,
        "leads_in_sales": len(camp_leads),
        "leads_converted": converted,
        "lead_conversion_rate": rate(converted, len(camp_leads)),
        "opportunities": len(camp_opps),
        "opportunities_won": len(won_opps),
        "orders": len(won_orders),
        "won_amount": str(won_amount),
        "budget": str(money(campaign.get("budget"))) if campaign.get("budget") is not None
        else None,
        "cost": str(cost),
        "roi": roi(won_amount, cost),
    }


def newer(stored_at, incoming_at):
    """True if an incoming value (occurred at ``incoming_at``) should replace the stored one."""
    return stored_at is None or incoming_at >= stored_at


def as_utc(value):
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)
