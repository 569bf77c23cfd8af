"""A reporting read model on a throwaway SQLite DB, fed hand-built envelopes."""
import datetime as dt
import itertools
import uuid

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from services.common.uow import make_envelope
from services.contract import EVENTS
from services.contract.events import validate_event
from services.reporting import commands, domain
from services.reporting import repository as repo
from services.reporting.models import Base

TZ = "Asia/Shanghai"
SOURCE = {t: s for s, types in EVENTS.items() for t in types}
_ids = itertools.count(1)


def at(text):
    """'2026-11-05T10:00' (UTC unless an offset is given) → aware datetime."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def env(event_type, when, **data):
    e = make_envelope(SOURCE[event_type], event_type, data, occurred_at=at(when))
    errors = validate_event(e)
    assert not errors, (event_type, errors)
    return e


def nid():
    return next(_ids)


class Harness:
    def __init__(self, url="sqlite://", tz=TZ):
        self.engine = create_engine(url)
        Base.metadata.create_all(self.engine)
        self.Session = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.tz = tz

    def apply(self, *envelopes, now=None):
        out = []
        for e in envelopes:
            with self.Session() as s:
                out.append(commands.apply_envelope(s, e, self.tz, now=now))
                s.commit()
        return out

    def kpis(self, period, scope=None, now=None):
        with self.Session() as s:
            return repo.get_kpis(s, domain.parse_period(period), repo.Scope(scope), self.tz,
                                 now=now or at("2027-06-01T00:00"))

    def rebuild(self):
        with self.Session() as s:
            counts = commands.rebuild(s, self.tz)
            s.commit()
            return counts

    def run(self, fn, *args, **kwargs):
        with self.Session() as s:
            out = fn(s, *args, **kwargs)
            s.commit()
            return out


# --- envelope builders (payloads as the contract promises) ----------------------------
FILLED = ["name", "uscc", "industry_code", "region", "scale", "annual_budget", "needs",
          "source_channel", "contact_name", "contact_title", "contact_mobile", "contact_email"]


def customer(event_type, when, cid, owner="u1", ctype="closed", filled=12, **extra):
    return env(event_type, when, customer_id=cid, name=f"C{cid}", owner_id=owner, type=ctype,
               tier="normal", industry_code="C13", region="上海", filled_fields=FILLED[:filled],
               **extra)


def lead(event_type, when, lid, owner="u1", **extra):
    return env(event_type, when, lead_id=lid, owner_id=owner, **extra)


def opp(event_type, when, oid, owner="u1", customer_id=1, **extra):
    return env(event_type, when, opportunity_id=oid, customer_id=customer_id, owner_id=owner,
               **extra)


def order(event_type, when, oid, amount=None, owner="u1", customer_id=1, **extra):
    if amount is not None:
        extra["amount"] = str(amount)
    return env(event_type, when, order_id=oid, customer_id=customer_id, owner_id=owner, **extra)


def ticket(event_type, when, tid, kind="complaint", assignee="s1", customer_id=1,
           severity="high", opened=None, **extra):
    base = at(opened or when)
    extra.setdefault("first_response_due_at", (base + dt.timedelta(hours=4)).isoformat())
    extra.setdefault("resolution_due_at", (base + dt.timedelta(hours=24)).isoformat())
    return env(event_type, when, ticket_id=tid, kind=kind, severity=severity,
               customer_id=customer_id, assignee_id=assignee, **extra)


def uid():
    return str(uuid.uuid4())
