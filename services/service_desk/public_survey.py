"""Survey links sent to customers: issue (the agent, on a resolved ticket), read and
answer (the customer, no sign-in; the signed token is the credential, used once)."""
import datetime as dt

from sqlalchemy import select, update

from services.common.errors import Conflict, NotFound
from services.service_desk import commands, survey_links
from services.service_desk import repository as repo
from services.service_desk.models import SurveyLink, Ticket


class Customer:
    """The actor of an answer given through a survey link."""

    id = None
    label = "customer"
    is_manager = False


def issue(uow, actor, ticket, config, when, days):
    if ticket.status not in ("resolved", "closed"):
        raise Conflict("a survey link is sent once the ticket is resolved",
                       {"status": [f"ticket is {ticket.status}"]}, code="ILLEGAL_TRANSITION")
    if repo.get_survey(uow.session, ticket.id) is not None:
        raise Conflict("this ticket already has a survey", code="DUPLICATE_SURVEY")
    nonce = survey_links.new_nonce()
    expires = when + dt.timedelta(days=days)
    uow.session.add(SurveyLink(nonce=nonce, ticket_id=ticket.id, created_by=actor.label,
                               created_at=when, expires_at=expires))
    uow.session.flush()
    return {"ticket_id": ticket.id, "token": survey_links.sign(config, ticket.id, nonce, expires),
            "expires_at": expires}


def _link(session, config, token, now, for_update=False):
    """→ (link, ticket, state) with state ``open``, ``used`` or ``expired``."""
    ticket_id, nonce, expired = survey_links.verify(config, token, now)
    stmt = select(SurveyLink).where(SurveyLink.nonce == nonce,
                                    SurveyLink.ticket_id == ticket_id)
    if for_update and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    link = session.scalar(stmt)
    ticket = session.get(Ticket, ticket_id) if link else None
    if link is None or ticket is None:
        raise NotFound("survey link not found", code="SURVEY_LINK_INVALID")
    if link.used_at is not None or repo.get_survey(session, ticket_id) is not None:
        return link, ticket, "used"
    if expired or now >= link.expires_at:
        return link, ticket, "expired"
    return link, ticket, "open"


def describe(session, config, token, now):
    """What the public page shows: no contact data, no names, no internal ids beyond
    the ticket number printed on the customer's own correspondence."""
    _, ticket, state = _link(session, config, token, now)
    return {"state": state, "ticket_id": ticket.id, "kind": ticket.kind,
            "resolved_on": ticket.resolved_at.date() if ticket.resolved_at else None}


def answer(uow, config, token, score, comment, now):
    link, ticket, state = _link(uow.session, config, token, now, for_update=True)
    if state == "used":
        raise Conflict("this survey link was already used", code="SURVEY_LINK_USED")
    if state == "expired":
        raise Conflict("this survey link has expired", code="SURVEY_LINK_EXPIRED")
    # single use even under races: only one UPDATE finds used_at still NULL
    done = uow.session.execute(update(SurveyLink).where(
        SurveyLink.nonce == link.nonce, SurveyLink.used_at.is_(None)).values(used_at=now)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict("this survey link was already used", code="SURVEY_LINK_USED")
    return commands.submit_survey(uow, Customer(), ticket, score, comment, now)
