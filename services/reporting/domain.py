"""reporting's rules as plain functions (no nameko, no I/O): periods, the fold of
an entity's events into facts, each entity's contribution to the per-month
aggregates, and the KPI / scorecard / churn formulas of shared/KPIS.md.

Order independence: ``fold_*`` always sorts an entity's events by
(occurred_at, type rank, event_id) before folding, so the facts, and hence the
contributions, are a function of the *set* of events, never of delivery order.
The aggregates are the sum of the contributions of every entity.
"""
import datetime as dt
import re
from collections import Counter, namedtuple
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SCALE = 10000  # aggregate values are integers in 1/10000 units
COMPANY = "*"
DEPT_PREFIX = "*"  # kpi_month owner of a department's rows: "*sales", "*service", ...
DEFAULT_TZ = "Asia/Shanghai"
STAGE_PROBABILITY = {"qualify": Decimal("0.3"), "propose": Decimal("0.6"),
                     "negotiate": Decimal("0.9")}
TICKET_KINDS = ("inquiry", "complaint", "suggestion")
PROFILE_FIELD_COUNT = 12
DEPARTMENTS = ("sales", "marketing", "service", "management")
DEPT_BITS = {"sales": 1, "service": 2, "marketing": 4}

# --- periods ----------------------------------------------------------------------------
Period = namedtuple("Period", "label kind year first_month last_month")
_PERIOD = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$")


class PeriodError(ValueError):
    pass


def parse_period(text):
    """'2026-11' | '2026-Q4' | '2026' → Period; PeriodError otherwise."""
    if not isinstance(text, str):
        raise PeriodError("must be a string like 2026-11, 2026-Q4 or 2026")
    m = _PERIOD.match(text.strip())
    if not m:
        raise PeriodError("must be YYYY-MM, YYYY-Qn or YYYY")
    year = int(m.group(1))
    if not 1970 <= year <= 2999:
        raise PeriodError("year out of range")
    if m.group(2):
        month = int(m.group(2))
        return Period(f"{year}-{month:02d}", "month", year, month, month)
    if m.group(3):
        q = int(m.group(3))
        return Period(f"{year}-Q{q}", "quarter", year, 3 * q - 2, 3 * q)
    return Period(str(year), "year", year, 1, 12)


def period_months(period):
    """The YYYYMM ints of the period."""
    return [period.year * 100 + m for m in range(period.first_month, period.last_month + 1)]


def month_key(year, month):
    return year * 100 + month


def add_months(ym, n):
    y, m = divmod(ym // 100 * 12 + (ym % 100 - 1) + n, 12)
    return y * 100 + m + 1


def month_start(ym, tz):
    """Start of month ``ym`` in ``tz`` as an aware UTC datetime."""
    local = dt.datetime(ym // 100, ym % 100, 1, tzinfo=zone(tz))
    return local.astimezone(dt.UTC)


def period_bounds(period, tz):
    """[start, end) of the period in UTC, cut in ``tz``."""
    first = month_key(period.year, period.first_month)
    last = month_key(period.year, period.last_month)
    return month_start(first, tz), month_start(add_months(last, 1), tz)


def zone(tz):
    try:
        return ZoneInfo(tz or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        raise PeriodError(f"unknown timezone {tz!r}") from None


def month_of(at, tz):
    local = at.astimezone(zone(tz))
    return local.year * 100 + local.month


def current_period(now, tz):
    local = now.astimezone(zone(tz))
    return f"{local.year}-{local.month:02d}"


def month_label(ym):
    return f"{ym // 100}-{ym % 100:02d}"


# --- values -------------------------------------------------------------------------------
def parse_time(value):
    if value is None or isinstance(value, dt.datetime):
        return value
    out = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if out.tzinfo is None:
        out = out.replace(tzinfo=dt.UTC)
    return out.astimezone(dt.UTC)


def parse_date(value):
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def dec(value):
    if value is None or value == "":
        return None
    return Decimal(str(value))


def ref(value):
    return None if value is None else str(value)


def scaled(value):
    """Decimal/int → integer 1/10000 units (exact)."""
    return int((Decimal(value) * SCALE).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rate(num, den):
    """num/den rounded to 4 places; None when the denominator is 0."""
    if not den:
        return None
    return round(num / den, 4)


def money(value_scaled):
    return str((Decimal(value_scaled) / SCALE).quantize(Decimal("0.01"), ROUND_HALF_UP))


def money_dec(value):
    return str(Decimal(value or 0).quantize(Decimal("0.01"), ROUND_HALF_UP))


# --- entities -----------------------------------------------------------------------------
_ENTITY = {
    "customer_": ("customer", "customer_id"),
    "customers_merged": ("customer", "merge_id"),  # the merged customer's last event
    "lead_": ("lead", "lead_id"),
    "opportunity_": ("opportunity", "opportunity_id"),
    "follow_up_": ("follow_up", "follow_up_id"),
    "order_": ("order", "order_id"),
    "payment_": ("payment", "payment_id"),
    "ticket_": ("ticket", "ticket_id"),
    "survey_": ("ticket", "ticket_id"),  # surveys fold with their ticket
    "care_visit_": ("care_visit", None),  # every visit recorded counts
    "campaign_launched": ("campaign", "campaign_id"),
    "campaign_completed": ("campaign", "campaign_id"),
}
_PARTICIPANT = ("participant_registered", "campaign_feedback_recorded",
                "campaign_lead_generated")
# tie-break for events with the same occurred_at: creation first, outcomes last
_RANK = {"customer_created": 0, "lead_created": 0, "opportunity_created": 0,
         "follow_up_scheduled": 0, "order_placed": 0, "ticket_opened": 0,
         "campaign_launched": 0, "participant_registered": 0,
         "lead_assigned": 1, "ticket_assigned": 1, "ticket_responded": 2,
         "opportunity_won": 3, "opportunity_lost": 3, "order_cancelled": 3,
         "ticket_resolved": 3, "ticket_reopened": 4, "ticket_closed": 5,
         "survey_answered": 6, "campaign_completed": 6, "customers_merged": 7}


def entity_of(envelope):
    """(kind, id) of the one entity an event belongs to."""
    etype, data = envelope["type"], envelope["data"]
    if etype in _PARTICIPANT:
        return "participant", f"{data['campaign_id']}:{data['participant_id']}"
    for prefix, (kind, key) in _ENTITY.items():
        if etype.startswith(prefix):
            return kind, str(data[key]) if key else str(envelope["event_id"])
    raise KeyError(f"no entity for event type {etype}")


def norm(envelope):
    """Envelope → the event dict the folds use."""
    return {"id": str(envelope["event_id"]), "type": envelope["type"],
            "at": parse_time(envelope["occurred_at"]), "data": envelope.get("data") or {}}


def ordered(events):
    return sorted(events, key=lambda e: (e["at"], _RANK.get(e["type"], 2), e["id"]))


def _first(events, *types):
    for e in events:
        if e["type"] in types:
            return e
    return None


def _last(events, *types):
    for e in reversed(events):
        if e["type"] in types:
            return e
    return None


def _latest(events, key, types=None):
    """Latest non-null value of data[key] (events already ordered)."""
    for e in reversed(events):
        if types and e["type"] not in types:
            continue
        v = e["data"].get(key)
        if v is not None:
            return v
    return None


def staff_seen(envelope):
    """[(employee_id, department)] this event shows working in a department."""
    etype, data, source = envelope["type"], envelope["data"], envelope["source"]
    out = []
    if source == "sales" and data.get("owner_id"):
        out.append((data["owner_id"], "sales"))
    elif source == "service_desk":
        who = data.get("assignee_id") or data.get("visitor_id")
        if who:
            out.append((who, "service"))
    elif etype in ("campaign_launched", "campaign_completed"):
        if data.get("owner_id"):
            out.append((data["owner_id"], "marketing"))
    return out


def dept_owner(department):
    """The kpi_month owner key holding the sum of a department's members' rows."""
    return f"{DEPT_PREFIX}{department}"


def is_person(owner):
    """True for an employee's kpi_month rows (not the company's or a department's)."""
    return not owner.startswith(DEPT_PREFIX)


def department_deltas(deltas, departments):
    """The department rows of per-owner deltas: {(dept_owner, month, metric): v}."""
    out = Counter()
    for (owner, ym, metric), v in deltas.items():
        dept = departments.get(owner) if is_person(owner) else None
        if dept:
            out[(dept_owner(dept), ym, metric)] += v
    return out


def department_of(seen_bits, manual=None):
    if manual:
        return manual
    for dept in ("sales", "service", "marketing"):
        if seen_bits & DEPT_BITS[dept]:
            return dept
    return None


# --- folds: events of one entity → facts --------------------------------------------------
def fold_customer(events):
    """A customer's facts; a merged customer (``customers_merged`` among its events, in
    whatever order they came) has ``merged_into`` set and contributes nothing."""
    evs = ordered(events)
    merged = _last(evs, "customers_merged")
    evs = [e for e in evs if e["type"] != "customers_merged"]
    if merged is not None:
        facts = _fold_live_customer(evs) if evs else {
            "customer_id": ref(merged["data"]["merge_id"]), "name": None, "owner_id": None,
            "tier": None, "industry_code": None, "region": None, "filled": None,
            "created_at": None, "created_owner": None}
        facts.update(type="merged", lost_at=None, states=[], spans=[],
                     merged_into=ref(merged["data"]["keep_id"]))
        return facts
    return _fold_live_customer(evs)


def _fold_live_customer(evs):
    if not evs:
        return None
    created = _first(evs, "customer_created")
    states = [(e["at"], e["data"].get("owner_id"), e["data"].get("type"),
               len(e["data"].get("filled_fields") or ()), e["type"]) for e in evs]
    last = evs[-1]["data"]
    facts = {"customer_id": ref(last.get("customer_id")), "name": _latest(evs, "name"),
             "owner_id": last.get("owner_id"), "type": last.get("type"),
             "tier": last.get("tier"), "industry_code": last.get("industry_code"),
             "region": last.get("region"), "filled": states[-1][3],
             "created_at": created["at"] if created else None,
             "created_owner": created["data"].get("owner_id") if created else None,
             "lost_at": None, "states": states}
    if facts["type"] == "lost":
        lost = _last(evs, "customer_lost")
        facts["lost_at"] = lost["at"] if lost else evs[-1]["at"]
    facts["spans"] = closed_spans(states)
    return facts


def closed_spans(states):
    """Spans of type 'closed' split by owner: dicts owner/start_at/end_at/lost_at.
    ``lost_at`` is set on every span of a stretch that ended by being marked lost."""
    spans, stretch = [], []
    for at, owner, ctype, _filled, _etype in states:
        if ctype == "closed":
            if stretch and stretch[-1]["owner_id"] == owner:
                continue
            if stretch:
                stretch[-1]["end_at"] = at
            stretch.append({"owner_id": owner, "start_at": at, "end_at": None, "lost_at": None})
        elif stretch:
            stretch[-1]["end_at"] = at
            if ctype == "lost":
                for s in stretch:
                    s["lost_at"] = at
            spans += stretch
            stretch = []
    return spans + stretch


def fold_lead(events):
    evs = ordered(events)
    created = _first(evs, "lead_created")
    converted = _first(evs, "lead_converted")
    disq = _last(evs, "lead_disqualified")
    owner = created["data"].get("owner_id") if created else None
    if owner is None:
        first_assigned = next((e for e in evs if e["type"] == "lead_assigned"
                               and e["data"].get("owner_id")), None)
        owner = first_assigned["data"]["owner_id"] if first_assigned else None
    return {"lead_id": ref(evs[0]["data"]["lead_id"]), "owner_id": owner,
            "created_at": created["at"] if created else None,
            "converted_at": converted["at"] if converted else None,
            "disqualified_at": disq["at"] if disq else None,
            "opportunity_id": ref(converted["data"].get("opportunity_id")) if converted else None,
            "customer_id": ref(_latest(evs, "customer_id")),
            "campaign_id": ref(_latest(evs, "campaign_id")),
            "source": created["data"].get("source") if created else None}


def fold_opportunity(events):
    evs = ordered(events)
    created = _first(evs, "opportunity_created")
    decision = _last(evs, "opportunity_won", "opportunity_lost")
    stage = None
    for e in evs:
        if e["data"].get("stage") in STAGE_PROBABILITY:
            stage = e["data"]["stage"]
    return {"opportunity_id": ref(evs[0]["data"]["opportunity_id"]),
            "customer_id": ref(_latest(evs, "customer_id")),
            "owner_id": evs[-1]["data"].get("owner_id"),
            "created_owner": created["data"].get("owner_id") if created else None,
            "lead_id": ref(_latest(evs, "lead_id")),
            "campaign_id": ref(_latest(evs, "campaign_id")),
            "amount": dec(_latest(evs, "amount")), "stage": stage or "qualify",
            "expected_close_date": parse_date(_latest(evs, "expected_close_date")),
            "created_at": created["at"] if created else None,
            "status": ("won" if decision["type"] == "opportunity_won" else "lost")
            if decision else "open",
            "decided_at": decision["at"] if decision else None,
            "decided_owner": decision["data"].get("owner_id") if decision else None}


def fold_order(events):
    evs = ordered(events)
    placed = _first(evs, "order_placed")
    cancelled = _first(evs, "order_cancelled")
    amount = _latest(evs, "amount", types=("order_placed", "order_changed"))
    return {"order_id": ref(evs[0]["data"]["order_id"]),
            "customer_id": ref(_latest(evs, "customer_id")),
            "owner_id": placed["data"].get("owner_id") if placed else evs[-1]["data"].get(
                "owner_id"),
            "opportunity_id": ref(_latest(evs, "opportunity_id")),
            "campaign_id": ref(_latest(evs, "campaign_id")),
            "amount": dec(amount), "placed_at": placed["at"] if placed else None,
            "cancelled_at": cancelled["at"] if cancelled else None}


def fold_payment(events):
    e = ordered(events)[0]
    return {"payment_id": ref(e["data"]["payment_id"]), "owner_id": e["data"].get("owner_id"),
            "amount": dec(e["data"].get("amount")) or Decimal(0), "at": e["at"]}


def fold_follow_up(events):
    evs = ordered(events)
    completed = _first(evs, "follow_up_completed")
    done_at = None
    if completed:
        done_at = parse_time(completed["data"].get("completed_at")) or completed["at"]
    return {"follow_up_id": ref(evs[0]["data"]["follow_up_id"]),
            "owner_id": evs[-1]["data"].get("owner_id"),
            "due_at": parse_time(_latest(evs, "due_at")), "completed_at": done_at}


def fold_ticket(events):
    evs = ordered(events)
    tev = [e for e in evs if e["type"].startswith("ticket_")]
    opened = _first(tev, "ticket_opened")
    assignees = [(e["at"], e["data"].get("assignee_id")) for e in tev
                 if e["data"].get("assignee_id")]
    open_owner = opened["data"].get("assignee_id") if opened else None
    if open_owner is None and assignees:
        open_owner = assignees[0][1]
    current = tev[-1]["data"].get("assignee_id") if tev else None
    fr_due = parse_time(_latest(tev, "first_response_due_at"))
    res_due = parse_time(_latest(tev, "resolution_due_at"))
    facts = {"ticket_id": ref(evs[0]["data"]["ticket_id"]),
             "customer_id": ref(_latest(evs, "customer_id")),
             "kind": _latest(tev, "kind") or _latest(evs, "kind"),
             "severity": _latest(tev, "severity"), "assignee_id": current,
             "open_owner": open_owner, "opened_at": opened["at"] if opened else None,
             "first_response_due_at": fr_due, "resolution_due_at": res_due,
             "responded_at": None, "response_ok": False, "response_owner": None,
             "resolved_at": None, "resolution_ok": False, "resolution_owner": None,
             "surveys": []}
    resp = next((e for e in tev if e["type"] == "ticket_responded"
                 and e["data"].get("first_response")), None)
    if resp:
        facts.update(responded_at=resp["at"], response_ok=bool(resp["data"].get("within_sla")),
                     response_owner=resp["data"].get("assignee_id"))
    else:  # a resolution without any recorded response answers the customer too
        res = _first(tev, "ticket_resolved")
        if res:
            facts.update(responded_at=res["at"],
                         response_ok=fr_due is not None and res["at"] <= fr_due,
                         response_owner=res["data"].get("assignee_id"))
    outcome = _last(tev, "ticket_resolved", "ticket_reopened")
    if outcome and outcome["type"] == "ticket_resolved":
        facts.update(resolved_at=outcome["at"],
                     resolution_ok=bool(outcome["data"].get("within_sla")),
                     resolution_owner=outcome["data"].get("assignee_id"))
    seen = set()
    for e in evs:
        if e["type"] != "survey_answered":
            continue
        sid = ref(e["data"]["survey_id"])
        if sid in seen:
            continue
        seen.add(sid)
        owner = e["data"].get("assignee_id")
        if owner is None:
            before = [a for at, a in assignees if at <= e["at"]]
            owner = before[-1] if before else current
        facts["surveys"].append({"survey_id": sid, "score": int(e["data"]["score"]),
                                 "answered_at": e["at"], "owner_id": owner,
                                 "customer_id": ref(e["data"].get("customer_id"))
                                 or facts["customer_id"]})
    return facts


def fold_care_visit(events):
    e = ordered(events)[0]
    return {"at": e["at"], "owner_id": e["data"].get("visitor_id"),
            "customer_id": ref(e["data"].get("customer_id"))}


def fold_campaign(events):
    evs = ordered(events)
    launched = _first(evs, "campaign_launched")
    completed = _last(evs, "campaign_completed")
    return {"campaign_id": ref(evs[0]["data"]["campaign_id"]),
            "owner_id": evs[-1]["data"].get("owner_id"), "theme": _latest(evs, "theme"),
            "format": _latest(evs, "format"), "cost": dec(_latest(evs, "cost")),
            "launched_at": launched["at"] if launched else None,
            "completed_at": completed["at"] if completed else None}


def fold_participant(events):
    evs = ordered(events)
    d = evs[0]["data"]
    feedback = _last(evs, "campaign_feedback_recorded")
    return {"key": f"{d['campaign_id']}:{d['participant_id']}",
            "campaign_id": ref(d["campaign_id"]), "participant_id": ref(d["participant_id"]),
            "customer_id": ref(_latest(evs, "customer_id")),
            "registered": any(e["type"] == "participant_registered" for e in evs),
            "feedback_score": feedback["data"].get("score") if feedback else None,
            "leads_generated": sum(1 for e in evs if e["type"] == "campaign_lead_generated")}


FOLDS = {"customer": fold_customer, "lead": fold_lead, "opportunity": fold_opportunity,
         "order": fold_order, "payment": fold_payment, "follow_up": fold_follow_up,
         "ticket": fold_ticket, "care_visit": fold_care_visit, "campaign": fold_campaign,
         "participant": fold_participant}


def fold(kind, events):
    return FOLDS[kind](events) if events else None


# --- contributions: facts → {(owner, YYYYMM, metric): scaled value} -----------------------
def _add(out, owner, ym, metric, value):
    if not value:
        return
    out[(COMPANY, ym, metric)] += value
    if owner:
        out[(str(owner), ym, metric)] += value


def _customer_state(owner, ctype, filled):
    out = {}
    if ctype and ctype != "lost":
        out["c_act_n"] = SCALE
        out["c_act_filled"] = filled * SCALE
    if ctype == "closed":
        out["c_closed_n"] = SCALE
    return owner, out


def contributions(kind, facts, tz):
    """What one entity adds to the per-month aggregates."""
    out = Counter()
    if facts is None:
        return out
    f = facts
    if kind == "customer":
        if f.get("merged_into"):  # counted once, as the kept customer
            return out
        if f["created_at"]:
            _add(out, f["created_owner"], month_of(f["created_at"], tz), "c_new", SCALE)
        for span in f["spans"]:
            if span["lost_at"]:  # churn: keyed by loss month, span start and end months
                _add(out, span["owner_id"], month_of(span["lost_at"], tz),
                     churn_metric(month_of(span["start_at"], tz), month_of(span["end_at"], tz)),
                     SCALE)
        prev_owner, prev = None, {}
        for at, owner, ctype, filled, _etype in f["states"]:
            ym = month_of(at, tz)
            for metric, v in prev.items():
                _add(out, prev_owner, ym, metric, -v)
            prev_owner, prev = _customer_state(owner, ctype, filled)
            for metric, v in prev.items():
                _add(out, prev_owner, ym, metric, v)
    elif kind == "lead":
        if f["created_at"]:
            ym = month_of(f["created_at"], tz)
            _add(out, f["owner_id"], ym, "l_new", SCALE)
            if f["converted_at"]:
                _add(out, f["owner_id"], ym, "l_conv", SCALE)
    elif kind == "opportunity":
        if f["created_at"]:
            _add(out, f["created_owner"], month_of(f["created_at"], tz), "o_new", SCALE)
        if f["status"] != "open":
            metric = "o_won" if f["status"] == "won" else "o_lost"
            _add(out, f["decided_owner"], month_of(f["decided_at"], tz), metric, SCALE)
        elif f["expected_close_date"] and f["amount"]:
            ecd = f["expected_close_date"]
            _add(out, f["owner_id"], month_key(ecd.year, ecd.month), "wp_amount",
                 scaled(f["amount"] * STAGE_PROBABILITY[f["stage"]]))
    elif kind == "order":
        if f["placed_at"] and f["amount"] and not f["cancelled_at"]:
            _add(out, f["owner_id"], month_of(f["placed_at"], tz), "s_amount",
                 scaled(f["amount"]))
    elif kind == "payment":
        _add(out, f["owner_id"], month_of(f["at"], tz), "p_amount", scaled(f["amount"]))
    elif kind == "follow_up":
        if f["due_at"]:
            ym = month_of(f["due_at"], tz)
            _add(out, f["owner_id"], ym, "f_due", SCALE)
            if f["completed_at"]:
                _add(out, f["owner_id"], ym, "f_done", SCALE)
                if f["completed_at"] <= f["due_at"]:
                    _add(out, f["owner_id"], ym, "f_ontime", SCALE)
    elif kind == "ticket":
        if f["opened_at"]:
            ym = month_of(f["opened_at"], tz)
            _add(out, f["open_owner"], ym, "t_new", SCALE)
            if f["kind"] in TICKET_KINDS:
                _add(out, f["open_owner"], ym, f"t_new_{f['kind']}", SCALE)
            who = f["response_owner"] if f["responded_at"] else f["assignee_id"]
            _add(out, who, ym, "tr_n", SCALE)
            if f["responded_at"] and f["response_ok"]:
                _add(out, who, ym, "tr_ok", SCALE)
            if f["kind"] == "complaint":
                who = f["resolution_owner"] if f["resolved_at"] else f["assignee_id"]
                _add(out, who, ym, "tc_n", SCALE)
                if f["resolved_at"] and f["resolution_ok"]:
                    _add(out, who, ym, "tc_ok", SCALE)
        for s in f["surveys"]:
            ym = month_of(s["answered_at"], tz)
            _add(out, s["owner_id"], ym, "cs_n", SCALE)
            _add(out, s["owner_id"], ym, "cs_sum", s["score"] * SCALE)
            if s["score"] >= 4:
                _add(out, s["owner_id"], ym, "cs_sat", SCALE)
    elif kind == "care_visit":
        _add(out, f["owner_id"], month_of(f["at"], tz), "cv_n", SCALE)
    return out


def churn_metric(start_month, end_month):
    """'ch_<start>_<end>': a closed span (under one owner) of a stretch that ended by
    being marked lost. It is in the cohort of a period starting at month P iff
    start < P ≤ end (months; P's start is a month boundary)."""
    return f"ch_{start_month}_{end_month}"


def churn_in_cohort(metric, first_month):
    _, start, end = metric.split("_")
    return int(start) < first_month <= int(end)


def diff(old, new):
    out = Counter(new)
    out.subtract(old)
    return {k: v for k, v in out.items() if v}


# --- KPI formulas -------------------------------------------------------------------------
def kpis_from(sums, *, active_n, active_filled, closed_at_start, churned, pending_follow_ups,
              pending_complaints, pending_responses, campaigns):
    """Every KPI of KPIS.md from the period's aggregate sums (scaled ints) and the
    few query-time counts (plain ints): the values get_kpis returns."""
    def n(metric):
        return sums.get(metric, 0) // SCALE

    retention = None
    if closed_at_start:
        retention = rate(closed_at_start - churned, closed_at_start)
    cs_n = n("cs_n")
    return {
        "customers_new": n("c_new"),
        "customer_info_completeness": rate(active_filled, active_n * PROFILE_FIELD_COUNT),
        "leads_new": n("l_new"),
        "lead_conversion_rate": rate(n("l_conv"), n("l_new")),
        "opportunity_win_rate": rate(n("o_won"), n("o_won") + n("o_lost")),
        "sales_amount": money(sums.get("s_amount", 0)),
        "payments_received": money(sums.get("p_amount", 0)),
        "weighted_pipeline": money(sums.get("wp_amount", 0)),
        "follow_up_completion_rate": rate(n("f_ontime"), n("f_due") - pending_follow_ups),
        "tickets_new": n("t_new"),
        "tickets_new_by_kind": {k: n(f"t_new_{k}") for k in TICKET_KINDS},
        "complaint_timeliness_rate": rate(n("tc_ok"), n("tc_n") - pending_complaints),
        "first_response_timeliness_rate": rate(n("tr_ok"), n("tr_n") - pending_responses),
        "csat_average": rate(n("cs_sum"), cs_n),
        "csat_satisfied_rate": rate(n("cs_sat"), cs_n),
        "retention_rate": retention,
        "churn_rate": None if retention is None else round(1 - retention, 4),
        "care_visits_done": n("cv_n"),
        "campaigns": campaigns,
    }


def campaign_row(c, participants, leads_generated, leads_converted, won_amount):
    cost = c.get("cost")
    roi = None
    if cost:
        roi = round(float((Decimal(won_amount) - Decimal(cost)) / Decimal(cost)), 4)
    return {"campaign_id": c["campaign_id"], "theme": c.get("theme"),
            "owner_id": c.get("owner_id"), "format": c.get("format"),
            "launched_at": c["launched_at"].isoformat() if c.get("launched_at") else None,
            "participants": participants, "leads_generated": leads_generated,
            "leads_converted": leads_converted, "won_amount": money_dec(won_amount),
            "cost": money_dec(cost), "roi": roi}


# --- scorecards -------------------------------------------------------------------------
SCORECARD_KPIS = {
    "sales": ("sales_amount", "opportunity_win_rate", "lead_conversion_rate",
              "follow_up_completion_rate", "customer_info_completeness"),
    "service": ("complaint_timeliness_rate", "first_response_timeliness_rate", "csat_average"),
}
# Defaults (monthly; money targets scale with the months of the period). Managers
# override them per role or per employee with set_scorecard_targets.
DEFAULT_TARGETS = {
    "sales": {"sales_amount": ("500000", "0.35"), "opportunity_win_rate": ("0.40", "0.20"),
              "lead_conversion_rate": ("0.30", "0.15"),
              "follow_up_completion_rate": ("0.90", "0.15"),
              "customer_info_completeness": ("0.80", "0.15")},
    "service": {"complaint_timeliness_rate": ("0.95", "0.40"),
                "first_response_timeliness_rate": ("0.95", "0.30"),
                "csat_average": ("4.50", "0.30")},
}
MONEY_KPIS = ("sales_amount",)
SCORE_CAP = 1.5


def score(actuals, targets, months=1):
    """score = 100 × Σ wᵢ·min(actualᵢ/targetᵢ, 1.5) / Σ wᵢ over KPIs that are not null.
    ``targets``: {kpi: (target, weight)}. Returns (score or None, items)."""
    items, num, den = [], 0.0, 0.0
    for kpi, (target, weight) in targets.items():
        target = float(target) * (months if kpi in MONEY_KPIS else 1)
        weight = float(weight)
        actual = actuals.get(kpi)
        item = {"kpi": kpi, "actual": actual, "target": round(target, 4), "weight": weight,
                "achievement": None}
        if actual is not None and target > 0:
            ratio = min(float(actual) / target, SCORE_CAP)
            item["achievement"] = round(ratio, 4)
            num += weight * ratio
            den += weight
        items.append(item)
    return (round(100 * num / den, 2) if den else None), items


# --- churn watchlist ------------------------------------------------------------------------
CHURN_SIGNALS = {"no_order_180d": 30, "complaints_90d": 25, "low_csat": 25,
                 "lost_opportunity_90d": 20}


def churn_signals(now, last_order_at, complaint2_at, latest_csat, lost_opp_at):
    fired = []
    if last_order_at is None or last_order_at < now - dt.timedelta(days=180):
        fired.append("no_order_180d")
    if complaint2_at is not None and complaint2_at >= now - dt.timedelta(days=90):
        fired.append("complaints_90d")
    if latest_csat is not None and latest_csat <= 2:
        fired.append("low_csat")
    if lost_opp_at is not None and lost_opp_at >= now - dt.timedelta(days=90):
        fired.append("lost_opportunity_90d")
    return fired, sum(CHURN_SIGNALS[s] for s in fired)
