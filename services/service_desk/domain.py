"""service_desk's business rules as plain functions: no nameko, no I/O.

Tickets: SLA clocks, the state machine and breach detection. Care plans: which
occasions (birthday, public holiday, contract expiry, periodic visit) fall due
on a date. FAQ: tokenising (Chinese has no spaces: CJK runs become bigrams)
and ranking.
"""
import calendar
import datetime as dt
import logging
import re

from services.common.errors import Conflict
from services.contract.events.service_desk import KINDS, ROOT_CAUSES, SEVERITIES
from services.service_desk import festivals

log = logging.getLogger(__name__)

CHANNELS = ("phone", "email", "sms", "online", "social", "visit")
VISIT_CHANNELS = CHANNELS + ("wechat",)
CARE_KINDS = ("birthday", "holiday", "contract_expiry", "periodic_visit")
VISIT_TIERS = ("strategic", "key")
VISIT_INTERVAL_DAYS = {"strategic": 30, "key": 90}
STATUSES = ("open", "in_progress", "resolved", "closed")
FAQ_STATUSES = ("draft", "published")
ACTIVE_STATUSES = ("open", "in_progress")
__all__ = ["KINDS", "ROOT_CAUSES", "SEVERITIES"]

# (first response, resolution) in calendar hours, per the contract (§5).
SLA_HOURS = {"critical": (1, 4), "high": (4, 24), "medium": (8, 72), "low": (24, 120)}


# --- SLA ----------------------------------------------------------------------
def first_response_due(severity, opened_at):
    return opened_at + dt.timedelta(hours=SLA_HOURS[severity][0])


def resolution_due(severity, started_at):
    return started_at + dt.timedelta(hours=SLA_HOURS[severity][1])


def within(done_at, due_at):
    return done_at is not None and due_at is not None and done_at <= due_at


def breached_clocks(ticket, now):
    """The clocks of ``ticket`` breached by ``now`` and not yet reported.

    A clock is breached when its due time has passed and the work was not
    done by then (not yet done, or done late). ``ticket`` is anything with
    the ticket's attributes. Returns [(clock, due_at)].
    """
    out = []
    clocks = (("first_response", ticket.first_response_due_at, ticket.first_responded_at,
               ticket.first_response_breached_at),
              ("resolution", ticket.resolution_due_at, ticket.resolved_at,
               ticket.resolution_breached_at))
    for clock, due, done, reported in clocks:
        if reported is not None or due is None or due >= now:
            continue
        if done is None or done > due:
            out.append((clock, due))
    return out


# --- state machine ------------------------------------------------------------
# action -> statuses it is allowed from
ALLOWED_FROM = {
    "respond": ("open", "in_progress"),
    "progress": ("open", "in_progress"),
    "coordinate": ("open", "in_progress"),
    "assign": ("open", "in_progress"),
    "resolve": ("open", "in_progress"),
    "close": ("resolved",),
    "reopen": ("resolved", "closed"),
}
NEXT_STATUS = {"respond": "in_progress", "resolve": "resolved", "close": "closed",
               "reopen": "in_progress"}


def check_transition(status, action):
    """The status after ``action`` (unchanged if the action keeps it); Conflict if illegal."""
    if status not in ALLOWED_FROM[action]:
        raise Conflict(f"cannot {action} a ticket that is {status}",
                       {"status": [f"{action} is not allowed when {status}"]},
                       code="ILLEGAL_TRANSITION")
    return NEXT_STATUS.get(action, status)


# --- assignment ---------------------------------------------------------------
def pick_agent(agents, loads, category=None):
    """Least-loaded active agent, preferring those covering ``category``.

    ``agents``: [(agent_id, categories)]; ``loads``: {agent_id: open tickets}.
    Ties go to the smallest id (stable, testable). None if nobody is active.
    """
    if not agents:
        return None
    pool = agents
    if category:
        matching = [a for a in agents if category in (a[1] or ())]
        pool = matching or agents
    return min(pool, key=lambda a: (loads.get(a[0], 0), a[0]))[0]


# --- care plans ---------------------------------------------------------------
def add_months(day, months):
    """``day`` shifted by whole months, clamped to the month's last day."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def contract_reminder_date(expiry_date):
    """Reminder three months before the contract expires."""
    return add_months(expiry_date, -3)


def birthday_in_year(birthday, year):
    """The birthday's date in ``year`` (29 Feb → 28 Feb in common years)."""
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return dt.date(year, birthday.month, birthday.day)


def occasions_on(plan, day, contacts=(), tier=None):
    """Care occasions of ``plan`` due on ``day`` → [(occasion_key, title)].

    ``plan`` has kind, start_date, expiry_date, interval_days; ``contacts`` are
    (contact key, name, birthday) of the plan's customer (``care_contacts``); ``tier``
    its current tier. Nothing is due before the plan starts.

    Keys: a birthday is keyed by contact and year (``birthday:<contact key>:<year>``),
    a holiday by the festival and its own date (``holiday:<code>:<YYYY-MM-DD>``, due on
    the first official day off when published: ``festivals``), so no two occasions of a
    plan share a key.
    """
    if day < plan.start_date:
        return []
    if plan.kind == "birthday":
        return [(f"birthday:{key}:{day.year}", f"生日祝福：{name}")
                for key, name, born in contacts
                if born is not None and birthday_in_year(born, day.year) == day]
    if plan.kind == "holiday":
        return [(f"holiday:{code}:{festival.isoformat()}", f"节日问候：{festivals.title(code)}")
                for code, festival in festivals.greetings_due(day)]
    if plan.kind == "contract_expiry":
        if plan.expiry_date and contract_reminder_date(plan.expiry_date) == day:
            return [(f"contract_expiry:{plan.expiry_date.isoformat()}",
                     f"合同到期提醒：{plan.expiry_date.isoformat()} 到期")]
        return []
    if plan.kind == "periodic_visit":
        if tier not in VISIT_TIERS or not plan.interval_days:
            return []
        elapsed = (day - plan.start_date).days
        if elapsed > 0 and elapsed % plan.interval_days == 0:
            return [(f"periodic_visit:{day.isoformat()}", "定期回访")]
        return []
    return []


# --- FAQ search ---------------------------------------------------------------
_WORD = re.compile(r"[0-9a-z]+|[\u3400-\u9fff\uf900-\ufaff]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
MAX_TOKENS = 24


def tokens(text):
    """Search terms of ``text``: lower-cased words; a CJK run gives itself and its
    bigrams (a single character stays a unigram). Order kept, no duplicates."""
    out = []
    for run in _WORD.findall((text or "").lower()):
        if _CJK.match(run):
            grams = [run] if len(run) <= 2 else [run] + [run[i:i + 2] for i in range(len(run) - 1)]
        else:
            grams = [run]
        for g in grams:
            if g not in out:
                out.append(g)
    return out[:MAX_TOKENS]


def fts_words(text):
    """Whole words and whole CJK runs, for PostgreSQL ``to_tsquery('simple', ...)``."""
    seen = []
    for run in _WORD.findall((text or "").lower()):
        if run not in seen:
            seen.append(run)
    return seen[:MAX_TOKENS]


def score(query, terms, question, answer, category="", keywords=""):
    """Relevance of one entry: whole-query phrase hits, then term hits weighted
    by where they land (question 3, keywords 2, answer/category 1); longer
    terms count more. 0 means no match."""
    q = (query or "").strip().lower()
    question, answer = (question or "").lower(), (answer or "").lower()
    category, keywords = (category or "").lower(), (keywords or "").lower()
    total = 0.0
    if q and q in question:
        total += 10
    elif q and q in answer:
        total += 4
    matched = 0
    for t in terms:
        weight = 1 + 0.5 * (len(t) - 1) if len(t) <= 4 else 3
        hit = 3 * (t in question) + 2 * (t in keywords) + (t in answer) + (t in category)
        if hit:
            matched += 1
            total += weight * hit
    if terms:
        total *= 0.5 + 0.5 * matched / len(terms)  # coverage of the query
    return round(total, 4)


FAQ_PUBLISHERS = {"service"}  # departments whose staff publish and withdraw FAQ entries


def may_publish_faq(actor):
    """Managers and the service department's agents publish and withdraw FAQ entries
    (issue 19: agents and managers edit and publish); other departments' staff do not."""
    return actor.is_manager or (not actor.anonymous and actor.department in FAQ_PUBLISHERS)


def handles_call(actor, ticket):
    """Whoever needs the complainant's contact for the call (policy 003 三(四)4, 最小化授权:
    only the information needed, to those who need it): the assignee, or the opener
    while nobody is assigned, and system calls; ``ticket`` is a dumped ticket
    (``assignee_id``, ``opened_by``)."""
    if actor.is_system:
        return True
    handler = ticket.get("assignee_id") or ticket.get("opened_by")
    return actor.id is not None and actor.id == handler


def mask_contact(value):
    """An e-mail as ``l***@example.com``, anything else (mobile, landline) as
    ``138****5678``; short values are hidden whole."""
    from services.common.identifiers import mask_email, mask_mobile
    if "@" in value:
        return mask_email(value)
    return mask_mobile(value) if len(value) >= 7 else "****"
