"""service_desk RPCs behind the service workspace (mixed into ServiceDeskService):
root causes and improvement actions, survey links and the customer's public answer,
the customer picker over the service desk's own copy, public FAQ articles, and the
timer that makes care tasks (a read never creates them)."""
import datetime as dt
from zoneinfo import ZoneInfo

from services.common.errors import Forbidden, NotFound, validation_error
from services.common.schemas import load
from services.common.service import declared_rpc
from services.service_desk import commands, notify_survey, public_survey, root_causes
from services.service_desk import repository as repo
from services.service_desk.clients import timer
from services.service_desk.exceptions import EXPECTED
from services.service_desk.periods import period_bounds
from services.service_desk.report_schemas import (
    CustomerPickSchema,
    CustomerSearchSchema,
    ImprovementInSchema,
    ImprovementOutSchema,
    PublicFaqSchema,
    PublicSurveyInSchema,
    PublicSurveyOutSchema,
    RootCausesOutSchema,
    SurveyLinkInSchema,
    SurveyLinkOutSchema,
)
from services.service_desk.schemas import SurveyOutSchema

_rpc = declared_rpc(EXPECTED)


class WorkspaceRpc:
    def _tz(self):
        return self.config.get("CRM_TIMEZONE") or "Asia/Shanghai"

    # --- root causes ------------------------------------------------------------
    @_rpc
    def root_causes(self, period):
        """Resolved complaints by root cause over ``period`` (2026-11, 2026-Q4, 2026,
        2026-11-01..2026-11-30, cut in CRM_TIMEZONE) with the improvement actions
        recorded → {period, first_day, last_day, total, items}. Staff and managers of
        any department may read it (counts, no customer data)."""
        first, last, start, end = period_bounds(period, self._tz())
        with self.db.read_uow() as uow:
            total, items = root_causes.report(uow.session, start, end)
        return RootCausesOutSchema().dump({"period": period, "first_day": first,
                                           "last_day": last, "total": total, "items": items})

    @_rpc
    def record_improvement(self, data, at=None):
        """An improvement action for a root cause, optionally tied to a ticket you may
        see → the action. ValidationError, NotFound (ticket)."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        data = load(ImprovementInSchema(), data)
        with self.db.uow() as uow:
            ticket = None
            if data.get("ticket_id"):
                ticket = repo.get_ticket(uow.session, data["ticket_id"], actor, read=True)
            action = root_causes.record(uow, actor, data, ticket, when)
            uow.commit()
            return ImprovementOutSchema().dump(root_causes.action_out(action))

    # --- survey links -------------------------------------------------------------
    @_rpc
    def issue_survey_link(self, ticket_id, days=14, at=None):
        """A signed, single-use survey link for a resolved ticket you act on
        → {ticket_id, token, expires_at, path, mailed_to}. The link is mailed to the
        customer when an address is known (``notify_survey``): ``mailed_to`` is that
        address masked, or null. Conflict before resolution or once the ticket has a
        survey."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        args = load(SurveyLinkInSchema(), {"days": days})
        to = self._survey_recipient(ticket_id, actor)  # any RPC before the unit of work
        with self.db.uow() as uow:
            ticket = repo.get_ticket(uow.session, ticket_id, actor)
            out = public_survey.issue(uow, actor, ticket, self.config, when, args["days"])
            out["mailed_to"] = notify_survey.queue(uow, ticket, out["token"],
                                                   out["expires_at"], to, self.config)
            uow.commit()
        out["path"] = f"/app/survey/{out['token']}"
        return SurveyLinkOutSchema().dump(out)

    @_rpc
    def survey_link_info(self, token):
        """Public (the token is the credential): {state open|used|expired, ticket_id,
        kind, resolved_on}. NotFound for a bad or tampered token."""
        with self.db.read_uow() as uow:
            info = public_survey.describe(uow.session, self.config, token,
                                          dt.datetime.now(dt.UTC))
        return PublicSurveyOutSchema().dump(info)

    @_rpc
    def answer_survey_link(self, token, score, comment=None):
        """Public: the customer's answer through the link, once → the survey.
        Conflict SURVEY_LINK_USED / SURVEY_LINK_EXPIRED / DUPLICATE_SURVEY; NotFound
        for a bad token; ValidationError (score 1-5)."""
        args = load(PublicSurveyInSchema(), {"score": score, "comment": comment})
        with self.db.uow() as uow:
            survey = public_survey.answer(uow, self.config, token, args["score"],
                                          args.get("comment"), dt.datetime.now(dt.UTC))
            uow.commit()
            return SurveyOutSchema().dump(survey)

    # --- customers (the service desk's own copy) ----------------------------------
    @_rpc
    def search_customers(self, q, limit=10):
        """Customers whose name contains ``q`` → [{id, name, contact (masked), tier,
        type}]: service staff pick the customer of a ticket by name."""
        args = load(CustomerSearchSchema(), {"q": q, "limit": limit})
        with self.db.read_uow() as uow:
            rows = repo.search_customers(uow.session, args["q"], args["limit"])
            return CustomerPickSchema(many=True).dump([
                {"id": c.customer_id, "name": c.name, "contact": c.contact_masked,
                 "tier": c.tier, "type": c.type} for c in rows])

    # --- public FAQ ---------------------------------------------------------------
    @_rpc
    def get_public_faq(self, faq_id):
        """Public: a published entry (question, answer, category) and one hit;
        NotFound for drafts and unknown ids."""
        if not isinstance(faq_id, int) or faq_id < 1:
            raise validation_error({"faq_id": "a positive integer"})
        with self.db.uow() as uow:
            faq = repo.get_faq(uow.session, faq_id)
            if faq.status != "published":
                raise NotFound(f"FAQ entry {faq_id} not found")
            commands.count_hits(uow, [faq])
            out = PublicFaqSchema().dump(repo.faq_out(faq))
            uow.commit()
            return out

    # --- care tasks: made by the timer, never by a read ---------------------------
    @timer(interval=600, config_key="CARE_TASK_INTERVAL", eager=True)
    def make_care_tasks(self):
        """Create today's care tasks (and any missed in the look-back window)."""
        today = dt.datetime.now(ZoneInfo(self._tz())).date()
        with self.db.uow() as uow:
            commands.materialise_tasks(uow, None, today)
            uow.commit()

    @_rpc
    def generate_care_tasks(self, date=None):
        """Managers/system: create the care tasks falling due up to ``date`` (default
        today) now, as the timer does → {date, created}."""
        actor = self.actor.get()
        if not actor.is_manager:
            raise Forbidden("only managers run the care task generation")
        if date is None:
            day = dt.datetime.now(ZoneInfo(self._tz())).date()
        else:
            try:
                day = dt.date.fromisoformat(date) if isinstance(date, str) else None
            except ValueError:
                day = None
            if day is None:
                raise validation_error({"date": "YYYY-MM-DD"})
        from sqlalchemy import func, select

        from services.service_desk.models import CareTask
        with self.db.uow() as uow:
            before = uow.session.scalar(select(func.count()).select_from(CareTask))
            commands.materialise_tasks(uow, None, day)
            after = uow.session.scalar(select(func.count()).select_from(CareTask))
            uow.commit()
        return {"date": day.isoformat(), "created": after - before}
