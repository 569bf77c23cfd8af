"""service_desk: tickets with SLAs, surveys, care plans and visits, FAQ
(nameko service ``service_desk``)."""
import datetime as dt
import logging
import time
from zoneinfo import ZoneInfo

from sqlalchemy.orm.exc import StaleDataError

from services.common import erasure as common_erasure
from services.common import merges, paging
from services.common.errors import Forbidden, validation_error
from services.common.handlers import event_handler
from services.common.peers import SystemRpcProxy, get_or_none
from services.common.schemas import load, page_args
from services.common.service import DomainService, declared_rpc
from services.common.uow import Database
from services.service_desk import commands, domain
from services.service_desk import erasure as service_desk_erasure
from services.service_desk import repository as repo
from services.service_desk.clients import OPEN_TICKETS, SLA_BREACHES, timer
from services.service_desk.exceptions import EXPECTED, Conflict, NotFound
from services.service_desk.models import Base, CarePlan, CareTask, CustomerCopy, Ticket
from services.service_desk.notify_survey import SurveyMail
from services.service_desk.schemas import (
    AgentInSchema,
    AgentOutSchema,
    AssignSchema,
    CarePlanInSchema,
    CarePlanOutSchema,
    CareTaskOutSchema,
    CoordinationSchema,
    DueSchema,
    FaqChangesSchema,
    FaqFiltersSchema,
    FaqInSchema,
    FaqOutSchema,
    FaqSearchSchema,
    ProgressSchema,
    ReasonSchema,
    ResolveSchema,
    RespondSchema,
    SurveyInSchema,
    SurveyOutSchema,
    TicketFiltersSchema,
    TicketInSchema,
    TicketOutSchema,
    VisitInSchema,
)
from services.service_desk.workspace_rpc import WorkspaceRpc

log = logging.getLogger(__name__)
TICKET = TicketOutSchema()
FAQ = FaqOutSchema()
PLAN = CarePlanOutSchema()
TASK = CareTaskOutSchema()
TICKET_IN = TicketInSchema()  # built once: building a schema costs more than a load


_rpc = declared_rpc(EXPECTED)
GAUGE_REFRESH = 2.0  # seconds between open-ticket recounts triggered by writes
_gauge_refreshed_at = [float("-inf")]  # per process (a service instance lives one call)


def _faq_schema(actor):
    """An anonymous caller (a public method, services/contract/public.py) sees an entry
    as customers do: no author, keywords, counters or status."""
    from services.service_desk.report_schemas import PublicFaqSchema
    return PublicFaqSchema() if actor.anonymous else FAQ



def _flag(value, name):
    """A boolean argument: True/False only (``1``, ``"yes"`` are refused by name)."""
    if not isinstance(value, bool):
        raise validation_error({name: "must be true or false"})
    return value

class ServiceDeskService(WorkspaceRpc, SurveyMail, DomainService):
    name = "service_desk"

    db = Database(Base)
    customers = SystemRpcProxy("customers")

    # --- helpers --------------------------------------------------------------
    def _today(self, when):
        return when.astimezone(ZoneInfo(self.config.get("CRM_TIMEZONE") or "Asia/Shanghai")).date()

    def _customer(self, customer_id, field="customer_id"):
        customer = get_or_none(self.customers, "get_customer", customer_id,
                               config=self.config)
        if customer is None:
            raise validation_error({field: f"customer {customer_id} does not exist"})
        return customer

    def _refresh_gauge(self, session):
        """Recount open tickets for the gauge, at most every GAUGE_REFRESH seconds per
        process: the count visits every open ticket, and on every write it made each
        ticket write slower as tickets piled up. The SLA scan always recounts."""
        now = time.monotonic()
        if now - _gauge_refreshed_at[0] < GAUGE_REFRESH:
            return
        _gauge_refreshed_at[0] = now
        for severity, count in repo.open_by_severity(session).items():
            OPEN_TICKETS.labels(severity).set(count)

    def _ticket_action(self, ticket_id, at, action):
        """Load a visible ticket, apply ``action(uow, actor, ticket, when)``, commit, dump."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        try:
            with self.db.uow() as uow:
                ticket = repo.get_ticket(uow.session, ticket_id, actor, for_update=True)
                action(uow, actor, ticket, when)
                self._refresh_gauge(uow.session)
                uow.commit()
                return self._dump_tickets(uow.session, [ticket])[0]
        except StaleDataError:
            raise Conflict("the ticket was changed by someone else; retry",
                           code="STALE_VERSION") from None

    # --- tickets --------------------------------------------------------------
    @_rpc
    def open_ticket(self, data, at=None):
        """Open a ticket (SLA clocks start at ``at``/now; auto-assigned from the roster)
        → the ticket. ValidationError (incl. unknown customer, SENSITIVE_DATA)."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        data = load(TICKET_IN, data)
        customer = self._customer(data["customer_id"]) if data.get("customer_id") else None
        with self.db.uow() as uow:
            if customer:
                commands.upsert_customer(uow.session, customer["id"], customer,
                                         birthdays=commands.birthdays_of(customer),
                                         contact=commands.contact_of(customer))
            ticket = commands.open_ticket(uow, actor, data, when)
            self._refresh_gauge(uow.session)
            uow.commit()
            return self._dump_tickets(uow.session, [ticket])[0]

    @_rpc
    def get_ticket(self, ticket_id):
        """The ticket with its timeline. NotFound (also when not yours: staff see
        tickets assigned to them and the ones they opened)."""
        actor = self.actor.get()
        with self.db.uow() as uow:
            out = self._dump_tickets(uow.session, [
                repo.get_ticket(uow.session, ticket_id, actor, read=True)])
        self._note_contacts_read(actor, out, "service_desk.get_ticket")
        return out[0]

    def _note_contacts_read(self, actor, tickets, via):
        """The complainant's contact shown in clear (to whoever handles the ticket, see
        ``_dump_tickets``): audited; masked rows are not reads of contact data."""
        ids = [t["id"] for t in tickets
               if t.get("complainant_contact") and domain.handles_call(actor, t)]
        if ids:
            self.db.audit.note_read(actor.label if not actor.service else
                                    f"svc:{actor.service}", "ticket", ids,
                                    "contacts_read", via)

    def _dump_tickets(self, session, tickets):
        """Tickets as the caller may see them: the complainant's contact in clear only to
        whoever handles the call (policy 003 三(四)4, 最小化授权: the assignee, or the
        opener while nobody is assigned; system calls), masked for the rest (a manager
        reviewing, the opener after a hand-over)."""
        actor = self.actor.get()
        names = repo.customer_names(session, [t.customer_id for t in tickets])
        out = TICKET.dump(tickets, many=True)
        for o in out:
            o["customer_name"] = names.get(o["customer_id"])
            if o.get("complainant_contact") and not domain.handles_call(actor, o):
                o["complainant_contact"] = domain.mask_contact(o["complainant_contact"])
        return out

    @_rpc
    def list_tickets(self, filters=None, page=1, page_size=20, cursor=None):
        """Tickets you may see (staff: assigned to them or opened by them) → {items,
        total, page, page_size, next_cursor, total_is_estimate}. Filters also ``mine``,
        ``active``, ``q``, ``sort=due``. Keyset paging (``cursor``), read-only."""
        actor = self.actor.get()
        filters = load(TicketFiltersSchema(), filters or {})
        page, page_size = page_args(page, page_size)
        with self.db.read_uow() as ro:
            rows, nxt, total, est = repo.list_tickets(ro.session, filters, actor.owner_scope(),
                                                      page, page_size, actor_id=actor.id,
                                                      cursor=cursor)
            items = self._dump_tickets(ro.session, rows)
        self._note_contacts_read(actor, items, "service_desk.list_tickets")
        return paging.paged(items, total, page, page_size, nxt, est)

    @_rpc
    def assign_ticket(self, ticket_id, assignee_id=None, at=None):
        """Managers: assign to ``assignee_id`` (an active roster agent) or, with None,
        the least-loaded agent. Forbidden for staff; Conflict when resolved/closed."""
        args = load(AssignSchema(), {"assignee_id": assignee_id})
        return self._ticket_action(ticket_id, at, lambda uow, actor, t, when: commands.assign(
            uow, actor, t, args.get("assignee_id"), when))

    @_rpc
    def respond(self, ticket_id, message, at=None):
        """Answer the customer (the first answer stops the first-response clock)."""
        args = load(RespondSchema(), {"message": message})
        return self._ticket_action(ticket_id, at, lambda uow, actor, t, when: commands.respond(
            uow, actor, t, args["message"], when))

    @_rpc
    def add_progress(self, ticket_id, note, notify_customer=False, at=None):
        """A progress note; ``notify_customer`` records whether the customer was told."""
        args = load(ProgressSchema(), {"note": note, "notify_customer": notify_customer})
        return self._ticket_action(ticket_id, at, lambda uow, actor, t, when: commands
                                   .add_progress(uow, actor, t, args["note"],
                                                 args["notify_customer"], when))

    @_rpc
    def add_coordination(self, ticket_id, department, note, at=None):
        """A coordination note naming the other department involved."""
        args = load(CoordinationSchema(), {"department": department, "note": note})
        return self._ticket_action(ticket_id, at, lambda uow, actor, t, when: commands
                                   .coordinate(uow, actor, t, args["department"], args["note"],
                                               when))

    @_rpc
    def resolve_ticket(self, ticket_id, resolution, root_cause, at=None):
        """Resolve with a root-cause code and text. Conflict unless open/in progress."""
        args = load(ResolveSchema(), {"resolution": resolution, "root_cause": root_cause})
        return self._ticket_action(ticket_id, at, lambda uow, actor, t, when: commands.resolve(
            uow, actor, t, args["resolution"], args["root_cause"], when))

    @_rpc
    def close_ticket(self, ticket_id, at=None):
        """Close a resolved ticket. Conflict otherwise."""
        return self._ticket_action(ticket_id, at, lambda uow, actor, t, when: commands.close(
            uow, actor, t, when))

    @_rpc
    def reopen_ticket(self, ticket_id, reason, at=None):
        """Reopen a resolved/closed ticket: clears the resolution, restarts its clock."""
        args = load(ReasonSchema(), {"reason": reason})
        return self._ticket_action(ticket_id, at, lambda uow, actor, t, when: commands.reopen(
            uow, actor, t, args["reason"], when))

    @_rpc
    def submit_survey(self, ticket_id, score, comment=None, at=None):
        """Satisfaction survey (1–5) after resolution, one per ticket → the survey.
        Conflict before resolution or on a second survey."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        args = load(SurveyInSchema(), {"score": score, "comment": comment})
        with self.db.uow() as uow:
            ticket = repo.get_ticket(uow.session, ticket_id, actor, for_update=True)
            survey = commands.submit_survey(uow, actor, ticket, args["score"],
                                            args.get("comment"), when)
            uow.commit()
            return SurveyOutSchema().dump(survey)

    @_rpc
    def get_survey(self, ticket_id):
        """The ticket's survey. NotFound if none (or the ticket is not yours)."""
        actor = self.actor.get()
        with self.db.uow() as uow:
            repo.get_ticket(uow.session, ticket_id, actor, read=True)
            survey = repo.get_survey(uow.session, ticket_id)
            if survey is None:
                raise NotFound(f"ticket {ticket_id} has no survey")
            return SurveyOutSchema().dump(survey)

    # --- SLA ------------------------------------------------------------------
    @timer(interval=30, config_key="SLA_CHECK_INTERVAL")
    def check_sla(self):
        """Periodic SLA scan: publishes ticket_sla_breached once per breached clock."""
        self._scan(dt.datetime.now(dt.UTC))

    @_rpc
    def scan_sla_breaches(self, at=None):
        """Run the SLA scan now (managers/system; ``at`` = the scan's "now")
        → {breaches, open_by_severity}."""
        actor = self.actor.get()
        if not actor.is_manager:
            raise Forbidden("only managers run the SLA scan")
        return self._scan(actor.resolve_at(at))

    def _scan(self, now):
        with self.db.uow() as uow:
            reported = commands.scan_breaches(uow, now)
            counts = repo.open_by_severity(uow.session)
            uow.commit()
        for severity, clock in reported:
            SLA_BREACHES.labels(severity, clock).inc()
        for severity, count in counts.items():
            OPEN_TICKETS.labels(severity).set(count)
        return {"breaches": len(reported), "open_by_severity": counts}

    # --- agents ---------------------------------------------------------------
    @_rpc
    def set_agent(self, agent_id, data=None, at=None):
        """Managers add or edit a roster agent (name, categories, active) → the agent."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        if not isinstance(agent_id, str) or not 0 < len(agent_id) <= 64:
            raise validation_error({"agent_id": "1-64 characters"})
        data = load(AgentInSchema(), data or {})
        with self.db.uow() as uow:
            agent = commands.set_agent(uow, actor, agent_id, data, when)
            loads = repo.open_loads(uow.session)
            uow.commit()
            return AgentOutSchema().dump(repo.agent_out(agent, loads))

    @_rpc
    def list_agents(self):
        """The service roster with each agent's open tickets."""
        from services.service_desk.models import Agent
        with self.db.uow() as uow:
            loads = repo.open_loads(uow.session)
            agents = uow.session.query(Agent).order_by(Agent.agent_id).all()
            return AgentOutSchema(many=True).dump([repo.agent_out(a, loads) for a in agents])

    # --- care plans and visits -------------------------------------------------
    @_rpc
    def create_care_plan(self, customer_id, kind, assignee_id=None, start_date=None,
                         expiry_date=None, interval_days=None, note=None, at=None):
        """A care plan (birthday, holiday, contract_expiry with ``expiry_date``,
        periodic_visit for strategic/key customers) → the plan. ValidationError,
        Conflict (duplicate plan, tier not eligible)."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        raw = {"customer_id": customer_id, "kind": kind, "assignee_id": assignee_id,
               "start_date": start_date, "expiry_date": expiry_date,
               "interval_days": interval_days, "note": note}
        data = load(CarePlanInSchema(), {k: v for k, v in raw.items() if v is not None})
        customer = self._customer(data["customer_id"])
        with self.db.uow() as uow:
            copy = commands.upsert_customer(uow.session, customer["id"], customer,
                                            birthdays=commands.birthdays_of(customer),
                                            contact=commands.contact_of(customer))
            plan = commands.create_plan(uow, actor, data, copy, when, self._today(when))
            uow.commit()
            return PLAN.dump(repo.plan_out(plan))

    @_rpc
    def list_care_plans(self, customer_id=None, page=1, page_size=20, cursor=None,
                        newest_first=False):
        """Care plans you may see (staff: assigned to them) in id order, or the newest
        first with ``newest_first`` → {items, total, page, page_size, next_cursor,
        total_is_estimate} (keyset paging, read-only)."""
        actor = self.actor.get()
        page, page_size = page_args(page, page_size)
        if customer_id is not None and (isinstance(customer_id, bool)
                                        or not isinstance(customer_id, int)):
            raise validation_error({"customer_id": "must be an integer"})
        with self.db.read_uow() as ro:
            rows, nxt, total, est = repo.list_plans(ro.session, actor.owner_scope(),
                                                    customer_id, page, page_size, cursor,
                                                    newest_first=_flag(newest_first,
                                                                       "newest_first"))
            names = repo.customer_names(ro.session, [p.customer_id for p in rows])
            items = [dict(PLAN.dump(repo.plan_out(p)), customer_name=names.get(p.customer_id))
                     for p in rows]
            return paging.paged(items, total, page, page_size, nxt, est)

    @_rpc
    def due_care_tasks(self, date, include_overdue=True):
        """Care tasks due on ``date`` (YYYY-MM-DD), plus earlier ones not yet done
        → {date, items}. A read: the tasks are made by the ``make_care_tasks`` timer
        (or ``generate_care_tasks``) as their occasions fall due."""
        actor = self.actor.get()
        args = load(DueSchema(), {"date": date, "include_overdue": include_overdue})
        with self.db.read_uow() as uow:
            tasks = repo.due_tasks(uow.session, actor.owner_scope(), args["date"],
                                   args["include_overdue"])
            items = TASK.dump(tasks, many=True)
            names = repo.customer_names(uow.session, [t.customer_id for t in tasks])
            for item in items:
                item["customer_name"] = names.get(item["customer_id"])
            return {"date": args["date"].isoformat(), "items": items}

    @_rpc
    def record_visit(self, task_id, channel, outcome, satisfaction=None, at=None):
        """Record the visit/greeting done for a care task → the task. Conflict if done."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        data = load(VisitInSchema(), {"channel": channel, "outcome": outcome,
                                "satisfaction": satisfaction})
        with self.db.uow() as uow:
            task = repo.get_task(uow.session, task_id, actor, for_update=True)
            commands.record_visit(uow, actor, task, data, when)
            uow.commit()
            return TASK.dump(task)

    # --- FAQ ------------------------------------------------------------------
    @_rpc
    def create_faq(self, data, at=None):
        """A draft FAQ entry (question, answer, category, keywords) → the entry."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        data = load(FaqInSchema(), data)
        with self.db.uow() as uow:
            faq = commands.create_faq(uow, actor, data, when)
            uow.commit()
            return FAQ.dump(repo.faq_out(faq))

    @_rpc
    def update_faq(self, faq_id, changes, at=None):
        actor = self.actor.get()
        when = actor.resolve_at(at)
        changes = load(FaqChangesSchema(), changes, partial=True)
        with self.db.uow() as uow:
            faq = commands.update_faq(uow, actor, repo.get_faq(uow.session, faq_id, True),
                                      changes, when)
            uow.commit()
            return FAQ.dump(repo.faq_out(faq))

    @_rpc
    def publish_faq(self, faq_id, at=None):
        """Service agents and managers publish a draft (other departments' staff:
        Forbidden); Conflict if published."""
        return self._publish(faq_id, True, at)

    @_rpc
    def unpublish_faq(self, faq_id, at=None):
        """Service agents and managers withdraw an entry to draft (same rule)."""
        return self._publish(faq_id, False, at)

    def _publish(self, faq_id, published, at):
        actor = self.actor.get()
        when = actor.resolve_at(at)
        with self.db.uow() as uow:
            faq = commands.set_published(uow, actor, repo.get_faq(uow.session, faq_id, True),
                                         published, when)
            uow.commit()
            return FAQ.dump(repo.faq_out(faq))

    @_rpc
    def get_faq(self, faq_id):
        with self.db.uow() as uow:
            return FAQ.dump(repo.faq_out(repo.get_faq(uow.session, faq_id)))

    @_rpc
    def list_faqs(self, filters=None, page=1, page_size=20, cursor=None, newest_first=False):
        """FAQ entries in id order, or the newest first with ``newest_first`` → {items,
        total, page, page_size, next_cursor, total_is_estimate} (keyset paging,
        read-only). Filters: status, category."""
        filters = load(FaqFiltersSchema(), filters or {})
        page, page_size = page_args(page, page_size)
        newest_first = _flag(newest_first, "newest_first")
        with self.db.read_uow() as ro:
            rows, nxt, total, est = repo.list_faqs(ro.session, filters, page, page_size,
                                                   cursor, newest_first=newest_first)
            return paging.paged([FAQ.dump(repo.faq_out(f)) for f in rows], total, page,
                                page_size, nxt, est)

    @_rpc
    def search_faq(self, query, category=None, limit=10):
        """Published entries matching ``query``, best first → {query, items, total};
        each returned entry's hit count goes up by one."""
        args = load(FaqSearchSchema(), {"query": query, "category": category, "limit": limit})
        with self.db.uow() as uow:
            found = repo.search_faq(uow.session, args["query"], args.get("category"))
            shown = found[:args["limit"]]
            commands.count_hits(uow, [f for f, _ in shown])
            out = _faq_schema(self.actor.get())
            items = [out.dump(repo.faq_out(f, s)) for f, s in shown]
            uow.commit()
            return {"query": args["query"], "items": items, "total": len(found)}

    @_rpc
    def top_faq(self, limit=10, category=None):
        """The most-hit published entries."""
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            raise validation_error({"limit": "an integer from 1 to 100"})
        out = _faq_schema(self.actor.get())
        with self.db.uow() as uow:
            return [out.dump(repo.faq_out(f)) for f in repo.top_faq(uow.session, limit,
                                                                     category)]

    # --- events ---------------------------------------------------------------
    @event_handler("customers", "contact_erased")
    def on_contact_erased(self, envelope):
        """A contact person's data erased at customers (PIPL): erase our copies."""
        common_erasure.apply(self.db, envelope, service_desk_erasure.erase)

    @event_handler("customers", "customers_merged")
    def on_customers_merged(self, envelope):
        """Tickets, care plans and care tasks of a merged customer now name the kept
        one; our copy of the merged customer goes (the kept one's copy stays)."""
        merges.apply(self.db, envelope, [(Ticket, "customer_id", None),
                                         (CarePlan, "customer_id", None),
                                         (CareTask, "customer_id", None)],
                     drops=[(CustomerCopy, "customer_id")])

    @event_handler("customers", "customer_created")
    @event_handler("customers", "customer_updated")
    @event_handler("customers", "customer_tier_changed")
    @event_handler("customers", "customer_lost")
    @event_handler("customers", "customer_reactivated")
    def on_customer_event(self, envelope):
        """Keep our copy of the customer (tier, type, contacts' birthdays) and the
        automatic periodic-visit plan of strategic/key customers."""
        data = envelope["data"]
        birthdays = contact = None
        if envelope["type"] == "customer_created" or "contacts" in (
                data.get("changed_fields") or ()):
            customer = get_or_none(self.customers, "get_customer", data["customer_id"],
                                   config=self.config)
            birthdays = commands.birthdays_of(customer) if customer else None
            contact = commands.contact_of(customer) if customer else None
        with self.db.uow() as uow:
            if uow.already_applied(envelope):
                return
            commands.apply_customer_event(uow, envelope, birthdays,
                                          self._today(dt.datetime.now(dt.UTC)), contact)
            uow.commit()

