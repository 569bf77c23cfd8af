"""sales: leads, opportunities, follow-ups, orders and forecast (nameko service ``sales``).

Every method: load (sensitive-data scan + schema) → RPC to customers if needed
(never inside a unit of work) → one unit of work (writes + outbox events) → dump.
"""
import datetime as dt
import logging

from nameko.exceptions import UnknownService
from nameko.rpc import RpcProxy
from nameko.timer import timer
from prometheus_client import Gauge

from services.common import erasure as common_erasure
from services.common import merges, paging
from services.common.errors import Forbidden, validation_error
from services.common.handlers import PoisonEvent, event_handler
from services.common.peers import SystemRpcProxy, call_peer, get_or_none
from services.common.schemas import load, page_args
from services.common.sensitive import scan
from services.common.service import DomainService, declared_rpc
from services.common.uow import Database
from services.sales import channels, commands, convert_checks, day, domain, names
from services.sales import erasure as sales_erasure
from services.sales import repository as repo
from services.sales.channel_schemas import ChannelAnalysisOutSchema
from services.sales.exceptions import (
    EXPECTED,
    Conflict,
    NotFound,
    ServiceUnavailable,
    ValidationError,
)
from services.sales.models import Base, Lead, Opportunity, Order
from services.sales.notify_follow_ups import FollowUpNotices
from services.sales.schemas import (
    ActivityFiltersSchema,
    ActivityInSchema,
    ActivityOutSchema,
    AssignSchema,
    ConvertSchema,
    FollowUpFiltersSchema,
    FollowUpInSchema,
    FollowUpOutSchema,
    ForecastOutSchema,
    LeadFiltersSchema,
    LeadInSchema,
    LeadOutSchema,
    OpportunityFiltersSchema,
    OpportunityInSchema,
    OpportunityOutSchema,
    OrderChangesSchema,
    OrderFiltersSchema,
    OrderInSchema,
    OrderOutSchema,
    OutcomeSchema,
    PaymentInSchema,
    PeriodSchema,
    ReasonSchema,
    RulesOutSchema,
    RulesSchema,
    ShipSchema,
    StageSchema,
    dump_lead,
)

log = logging.getLogger(__name__)

OVERDUE_FOLLOW_UPS = Gauge("crm_follow_ups_overdue", "Open follow-ups past their due time",
                           ["service"])

LEAD_OUT, OPP_OUT, FU_OUT = LeadOutSchema(), OpportunityOutSchema(), FollowUpOutSchema()
ACT_OUT, ORDER_OUT = ActivityOutSchema(), OrderOutSchema()
# input schemas of the hot paths are built once (building one deep-copies its fields,
# which costs more than a load)
LEAD_IN = LeadInSchema()


_rpc = declared_rpc(EXPECTED)
CONTACT_TIMEOUT = 2.5  # s: call_peer bounds the contact look-up at 80 % of it


def _prefixed(fields, prefix):
    out = {}
    for key, value in (fields or {}).items():
        if isinstance(value, dict):
            out.update(_prefixed(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


MERGE_TARGETS = [(Lead, "customer_id", None), (Opportunity, "customer_id", None),
                 (Order, "customer_id", None)]


class SalesService(FollowUpNotices, DomainService):
    name = "sales"

    db = Database(Base)
    customers = RpcProxy("customers")
    # a campaign lead's contact data is fetched as the system, never carried by events
    marketing_system = SystemRpcProxy("marketing")
    customers_system = SystemRpcProxy("customers")

    # --- helpers -------------------------------------------------------------------
    def _customers_call(self, method, *args):
        """Call customers (never inside a unit of work); a silent service is the
        declared ServiceUnavailable (503 at the gateway)."""
        return call_peer(self.customers, method, *args, config=self.config)

    def _customer(self, customer_id):
        try:
            return self._customers_call("get_customer", customer_id)
        except NotFound:
            raise validation_error({"customer_id": "unknown customer (or not yours)"}) from None

    def _tz(self):
        return self.config.get("CRM_TIMEZONE") or "Asia/Shanghai"

    def _refresh_overdue(self):
        with self.db.uow() as uow:
            count = repo.overdue_count(uow.session, dt.datetime.now(dt.UTC))
        OVERDUE_FOLLOW_UPS.labels(self.name).set(count)
        return count

    # --- leads ---------------------------------------------------------------------
    @_rpc
    def create_lead(self, data, at=None):
        """Create a lead → the lead. A customer_id is checked with customers.get_customer;
        without one the lead is a prospect. ValidationError."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        data = load(LEAD_IN, data)
        customer = self._customer(data["customer_id"]) if data.get("customer_id") else None
        record = commands.new_lead_record(actor, data, when, customer)  # checks before I/O
        with self.db.uow() as uow:
            lead = commands.insert_lead(uow, record, when)
            uow.commit()
        return dump_lead(repo.lead_output(lead, actor))

    @_rpc
    def get_lead(self, lead_id):
        actor = self.actor.get()
        with self.db.uow() as uow:
            lead = repo.get_lead(uow.session, lead_id, actor)
            out = LEAD_OUT.dump(repo.lead_output(lead, actor))
            clear = bool(lead.contact_mobile or lead.contact_email) and (
                actor.is_system or lead.owner_id == actor.id)
        if clear:  # the contact in clear
            self.db.audit.note_read(actor.label, "lead", [out["id"]], "contacts_read",
                                    "sales.get_lead")
        return out

    @_rpc
    def list_leads(self, filters=None, page=1, page_size=20, cursor=None):
        """Leads you may see → {items, total, page, page_size, next_cursor,
        total_is_estimate} (keyset paging: services.common.paging). Filters: status,
        source, owner_id, campaign_id, customer_id, unassigned, q."""
        actor = self.actor.get()
        filters = load(LeadFiltersSchema(), filters or {})
        page, page_size = page_args(page, page_size)
        with self.db.read_uow() as ro:
            rows, nxt, total, est = paging.orm_page(
                ro.session, repo.leads_query(filters, actor.owner_scope()), repo.Lead.id,
                filters, cursor, page, page_size)
            items = [LEAD_OUT.dump(repo.lead_output(r, actor)) for r in rows]
            clear = [r.id for r in rows if (r.contact_mobile or r.contact_email) and (
                actor.is_system or r.owner_id == actor.id)]
        if clear:  # the rows whose contact is in clear (also each page of the export)
            self.db.audit.note_read(actor.label, "lead", clear, "contacts_read",
                                    "sales.list_leads")
        return paging.paged(items, total, page, page_size, nxt, est)

    @_rpc
    def set_assignment_rules(self, rules, at=None):
        """Replace the ordered assignment rules (managers). Kinds: region, industry
        (code prefix), named (customer_id/customer_name/source/campaign_id → owner;
        no criteria = default owner), round_robin (team; the fallback, last)."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        if not actor.is_manager:
            raise Forbidden("only managers set assignment rules")
        rules = load(RulesSchema(), {"rules": rules})["rules"]
        with self.db.uow() as uow:
            rows = commands.set_rules(uow, actor, rules, when)
            uow.commit()
            return RulesOutSchema().dump(repo.rules_output(rows))

    @_rpc
    def get_assignment_rules(self):
        actor = self.actor.get()
        if not actor.is_manager:
            raise Forbidden("only managers see assignment rules")
        with self.db.uow() as uow:
            return RulesOutSchema().dump(repo.rules_output(repo.load_rules(uow.session)))

    @_rpc
    def assign_lead(self, lead_id, owner_id=None, at=None):
        """Assign by the rules (owner_id None) or by hand (managers) → the lead,
        now following_up. Conflict if no rule matches or the lead is closed."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        owner_id = load(AssignSchema(), {"owner_id": owner_id}).get("owner_id")
        with self.db.uow() as uow:
            lead = repo.get_lead(uow.session, lead_id, actor, for_update=True)
            commands.assign_lead(uow, actor, lead, owner_id, when)
            uow.commit()
            return LEAD_OUT.dump(repo.lead_output(lead, actor))

    @_rpc
    def disqualify_lead(self, lead_id, reason, at=None):
        actor = self.actor.get()
        when = actor.resolve_at(at)
        reason = load(ReasonSchema(), {"reason": reason})["reason"]
        with self.db.uow() as uow:
            lead = repo.get_lead(uow.session, lead_id, actor, for_update=True)
            commands.disqualify_lead(uow, lead, reason, when)
            uow.commit()
            return LEAD_OUT.dump(repo.lead_output(lead, actor))

    @_rpc
    def convert_lead(self, lead_id, opportunity, at=None):
        """Lead → opportunity → {lead, opportunity}. A prospect lead first becomes a
        customer through customers.create_customer (extra customer fields in
        ``opportunity["customer"]``); if customers rejects it, ValidationError naming
        ``customer.<field>`` and nothing is written here."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        data, errors = convert_checks.load_opportunity(ConvertSchema(), opportunity)
        with self.db.uow() as uow:  # read only: no RPC while a unit of work is open
            lead = repo.get_lead(uow.session, lead_id, actor)
            if lead.status not in domain.OPEN_LEAD:
                raise Conflict(f"a {lead.status} lead cannot be converted")
            customer_id = lead.customer_id
            prospect = None if customer_id else self._prospect_customer(
                lead, actor, convert_checks.extra_customer_fields(opportunity))
        if errors and prospect is not None:  # the customer's own errors in the same answer
            errors.update(convert_checks.customer_errors(
                lambda c: self._customers_call("check_customer", c), prospect))
        convert_checks.raise_all(errors)
        if prospect is not None:
            customer_id = self._create_customer(prospect)["id"]
        with self.db.uow() as uow:
            lead = repo.get_lead(uow.session, lead_id, actor, for_update=True)
            lead, opp = commands.convert_lead(uow, actor, lead, data, customer_id, when)
            uow.commit()
            return {"lead": LEAD_OUT.dump(repo.lead_output(lead, actor)),
                    "opportunity": OPP_OUT.dump(repo.opportunity_output(opp))}

    @staticmethod
    def _prospect_customer(lead, actor, extra):
        contact = {"name": lead.contact_name, "mobile": lead.contact_mobile,
                   "email": lead.contact_email, "is_primary": True}
        contact.update(extra.get("contact") or {})
        data = {"name": lead.customer_name, "industry_code": lead.industry_code,
                "region": lead.region, "needs": lead.need, "source_channel": lead.source,
                "type": "potential", "owner_id": lead.owner_id or actor.id,
                "contacts": [{k: v for k, v in contact.items() if v is not None}]}
        data.update({k: v for k, v in extra.items() if k != "contact"})
        return {k: v for k, v in data.items() if v is not None}

    def _create_customer(self, data):
        try:
            return self._customers_call("create_customer", data)
        except ValidationError as exc:
            raise ValidationError("customers rejected the new customer: " + exc.message,
                                  convert_checks.customer_fields(exc.fields),
                                  code=exc.code) from None
        except Conflict as exc:
            raise Conflict("customers rejected the new customer: " + exc.message,
                           _prefixed(exc.fields, "customer."), code=exc.code) from None
        except (NotFound, Forbidden) as exc:
            raise validation_error({"customer": exc.message}) from None

    # --- opportunities ------------------------------------------------------------------
    @_rpc
    def create_opportunity(self, data, at=None):
        """customer_id, amount, expected_close_date, competitors, background, needs →
        the opportunity in qualify (30 %)."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        data = load(OpportunityInSchema(), data)
        customer = self._customer(data["customer_id"])
        owner = commands.owner_for(actor, data.pop("owner_id", None), "opportunities")
        with self.db.uow() as uow:
            opp = commands.create_opportunity(uow, actor, data, when, owner,
                                              customer_name=customer.get("name"))
            uow.commit()
            return OPP_OUT.dump(repo.opportunity_output(opp))

    @_rpc
    def get_opportunity(self, opportunity_id):
        """The opportunity with competitors, stage history and time spent per stage."""
        actor = self.actor.get()
        with self.db.uow() as uow:
            return OPP_OUT.dump(repo.opportunity_output(
                repo.get_opportunity(uow.session, opportunity_id, actor)))

    @_rpc
    def list_opportunities(self, filters=None, page=1, page_size=20, cursor=None):
        """Opportunities you may see, keyset-paged like ``list_leads``."""
        actor = self.actor.get()
        filters = load(OpportunityFiltersSchema(), filters or {})
        page, page_size = page_args(page, page_size)
        with self.db.read_uow() as ro:
            rows, nxt, total, est = paging.orm_page(
                ro.session, repo.opportunities_query(filters, actor.owner_scope()),
                repo.Opportunity.id, filters, cursor, page, page_size)
            return paging.paged([OPP_OUT.dump(repo.opportunity_output(r)) for r in rows],
                                total, page, page_size, nxt, est)

    def _transition(self, opportunity_id, target, at, reason=None):
        actor = self.actor.get()
        when = actor.resolve_at(at)
        with self.db.uow() as uow:
            opp = repo.get_opportunity(uow.session, opportunity_id, actor, for_update=True)
            commands.change_stage(uow, actor, opp, target, when, reason)
            uow.commit()
            return OPP_OUT.dump(repo.opportunity_output(opp))

    @_rpc
    def move_stage(self, opportunity_id, stage, at=None):
        """qualify ↔ propose ↔ negotiate, one step at a time; Conflict otherwise."""
        stage = load(StageSchema(), {"stage": stage})["stage"]
        return self._transition(opportunity_id, stage, at)

    @_rpc
    def win_opportunity(self, opportunity_id, at=None):
        """Won (from negotiate). Conflict otherwise."""
        return self._transition(opportunity_id, "won", at)

    @_rpc
    def lose_opportunity(self, opportunity_id, reason, at=None):
        reason = load(ReasonSchema(), {"reason": reason})["reason"]
        return self._transition(opportunity_id, "lost", at, reason)

    # --- follow-ups and activities --------------------------------------------------------
    @_rpc
    def schedule_follow_up(self, opportunity_id, due_at, note=None, at=None):
        """A follow-up due later, owned by the opportunity's owner."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        data = load(FollowUpInSchema(), {"due_at": due_at, "note": note})
        if data["due_at"] <= when:
            raise validation_error({"due_at": "must be in the future"})
        with self.db.uow() as uow:
            opp = repo.get_opportunity(uow.session, opportunity_id, actor, for_update=True)
            fu = commands.schedule_follow_up(uow, actor, opp, data, when)
            uow.commit()
            out = FU_OUT.dump(repo.follow_up_output(fu))
        self._refresh_overdue()
        return out

    @_rpc
    def complete_follow_up(self, follow_up_id, outcome, at=None):
        actor = self.actor.get()
        when = actor.resolve_at(at)
        outcome = load(OutcomeSchema(), {"outcome": outcome})["outcome"]
        with self.db.uow() as uow:
            fu = repo.get_follow_up(uow.session, follow_up_id, actor, for_update=True)
            commands.complete_follow_up(uow, fu, outcome, when)
            uow.commit()
            out = FU_OUT.dump(repo.follow_up_output(fu))
        self._refresh_overdue()
        return out

    @_rpc
    def get_follow_up(self, follow_up_id):
        actor = self.actor.get()
        with self.db.uow() as uow:
            return FU_OUT.dump(repo.follow_up_output(
                repo.get_follow_up(uow.session, follow_up_id, actor)))

    @_rpc
    def list_follow_ups(self, filters=None, page=1, page_size=20, cursor=None):
        """Filters: opportunity_id, status (open|done), overdue (bool), owner_id. Due
        first (due_at, then id), keyset-paged like ``list_leads`` (``cursor``)."""
        actor = self.actor.get()
        filters = load(FollowUpFiltersSchema(), filters or {})
        page, page_size = page_args(page, page_size)
        now = dt.datetime.now(dt.UTC)
        with self.db.read_uow() as ro:
            rows, nxt, total, est = paging.orm_page_by(
                ro.session, repo.follow_ups_query(filters, actor.owner_scope(), now),
                (repo.FollowUp.due_at, repo.FollowUp.id), filters, cursor, page, page_size)
            return paging.paged([FU_OUT.dump(repo.follow_up_output(r, now)) for r in rows],
                                total, page, page_size, nxt, est)

    @_rpc
    def log_activity(self, opportunity_id, channel, summary, at=None):
        """Record a communication (channel, summary, time) on an opportunity."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        data = load(ActivityInSchema(), {"channel": channel, "summary": summary})
        with self.db.uow() as uow:
            opp = repo.get_opportunity(uow.session, opportunity_id, actor)
            act = commands.log_activity(uow, actor, opp, data, when)
            uow.commit()
            return ACT_OUT.dump(repo.activity_output(act))

    @_rpc
    def list_activities(self, filters=None, page=1, page_size=20, cursor=None):
        """Filters: opportunity_id, channel. Newest last (id order), keyset-paged like
        ``list_leads`` (``cursor``)."""
        actor = self.actor.get()
        filters = load(ActivityFiltersSchema(), filters or {})
        page, page_size = page_args(page, page_size)
        with self.db.read_uow() as ro:
            if filters.get("opportunity_id") is not None:
                repo.get_opportunity(ro.session, filters["opportunity_id"], actor)
            rows, nxt, total, est = paging.orm_page(
                ro.session, repo.activities_query(filters, actor.owner_scope()),
                repo.Activity.id, filters, cursor, page, page_size)
            return paging.paged([ACT_OUT.dump(repo.activity_output(r)) for r in rows],
                                total, page, page_size, nxt, est)

    # --- orders -------------------------------------------------------------------------------
    @_rpc
    def create_order(self, data, at=None):
        """customer_id, opportunity_id?, lines [{product, quantity, unit_price}],
        delivery_date → the order (amount computed)."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        data = load(OrderInSchema(), data)
        self._customer(data["customer_id"])
        with self.db.uow() as uow:
            opp = None
            if data.get("opportunity_id"):
                try:
                    opp = repo.get_opportunity(uow.session, data["opportunity_id"], actor)
                except NotFound:
                    raise validation_error(
                        {"opportunity_id": "unknown opportunity (or not yours)"}) from None
            order = commands.create_order(uow, actor, data, when, opp)
            uow.commit()
            return ORDER_OUT.dump(repo.order_output(order))

    @_rpc
    def get_order(self, order_id):
        actor = self.actor.get()
        with self.db.uow() as uow:
            return ORDER_OUT.dump(repo.order_output(repo.get_order(uow.session, order_id, actor)))

    @_rpc
    def list_orders(self, filters=None, page=1, page_size=20, cursor=None):
        """Filters: status, customer_id, opportunity_id, owner_id. Keyset-paged like
        ``list_leads``."""
        actor = self.actor.get()
        filters = load(OrderFiltersSchema(), filters or {})
        page, page_size = page_args(page, page_size)
        with self.db.read_uow() as ro:
            rows, nxt, total, est = paging.orm_page(
                ro.session, repo.orders_query(filters, actor.owner_scope()), repo.Order.id,
                filters, cursor, page, page_size)
            items = [ORDER_OUT.dump(repo.order_output(r)) for r in rows]
        names.name_customers(self.customers_system, items)  # one call for the page
        return paging.paged(items, total, page, page_size, nxt, est)

    def _order_op(self, order_id, at, op, *args):
        actor = self.actor.get()
        when = actor.resolve_at(at)
        with self.db.uow() as uow:
            order = repo.get_order(uow.session, order_id, actor, for_update=True)
            op(uow, actor, order, *args, when)
            uow.commit()
            return ORDER_OUT.dump(repo.order_output(order))

    @_rpc
    def change_order(self, order_id, changes, at=None):
        """Change lines and/or delivery_date; before/after recorded. Conflict once
        cancelled (or lines after shipping)."""
        changes = load(OrderChangesSchema(), changes)
        return self._order_op(order_id, at, commands.change_order, changes)

    @_rpc
    def ship_order(self, order_id, shipped_at=None, at=None):
        shipped_at = load(ShipSchema(), {"shipped_at": shipped_at}).get("shipped_at")
        return self._order_op(order_id, at, commands.ship_order, shipped_at)

    @_rpc
    def record_payment(self, order_id, amount, at=None):
        """A (partial) payment; more than outstanding → ValidationError."""
        amount = load(PaymentInSchema(), {"amount": amount})["amount"]
        return self._order_op(order_id, at, commands.record_payment, amount)

    @_rpc
    def cancel_order(self, order_id, reason, at=None):
        reason = load(ReasonSchema(), {"reason": reason})["reason"]
        return self._order_op(order_id, at, commands.cancel_order, reason)

    # --- forecast --------------------------------------------------------------------------------
    @_rpc
    def forecast(self, period):
        """Weighted pipeline (KPIS.md) of open opportunities closing in ``period``
        (``2026-11``, ``2026-Q4``, ``2026``), total, by owner and by stage."""
        actor = self.actor.get()
        period = load(PeriodSchema(), {"period": period})["period"]
        first, last, _, _ = domain.parse_period(period, self._tz())
        with self.db.uow() as uow:
            rows = repo.open_opportunities_closing(uow.session, first, last,
                                                   actor.owner_scope())
            opps = [{"stage": o.stage, "amount": o.amount, "owner_id": o.owner_id,
                     "expected_close_date": o.expected_close_date} for o in rows]
        result = domain.forecast(opps, period, first, last)
        result["timezone"] = self._tz()
        return ForecastOutSchema().dump(result)

    @_rpc
    def channel_analysis(self, period):
        """Sales channel analysis of ``period`` (``2026-11``, ``2026-Q4``, ``2026``, cut in
        CRM_TIMEZONE) → {by_source, by_campaign, total, period, from_date, to_date,
        timezone}: for the leads created in the period, per source and per campaign,
        leads, converted, won, lost, won_amount, conversion_rate, win_rate and
        avg_cycle_days (definitions: ``services/sales/channels.py``, docs/sales.md).
        Staff get their own leads. ValidationError on a bad period."""
        actor = self.actor.get()
        period = load(PeriodSchema(), {"period": period})["period"]
        first, last, start, end = domain.parse_period(period, self._tz())
        with self.db.read_uow() as uow:
            cohort = repo.channel_cohort(uow.session, start, end, actor.owner_scope())
        result = channels.analyse(cohort)
        result.update(period=period, from_date=first, to_date=last, timezone=self._tz())
        out = ChannelAnalysisOutSchema().dump(result)
        names.name_campaigns(self.marketing_system, out["by_campaign"])
        return out

    # --- the workspace's read models ----------------------------------------------------------
    @_rpc
    def my_day(self):
        """The caller's day → {today, follow_ups (open, due before tonight, overdue first,
        each with ``opportunity_name``), counts {overdue, due_today}, new_leads (assigned to
        me in the last 7 days, still open), past_close (my open opportunities whose expected
        close date has passed), orders (mine waiting for shipment or payment),
        unassigned {items, total} (managers: leads waiting for assignment)}."""
        actor = self.actor.get()
        now = dt.datetime.now(dt.UTC)
        today, tonight = day.end_of_local_day(now, self._tz())
        with self.db.read_uow() as uow:
            s = uow.session
            out = {"today": today.isoformat(),
                   "counts": day.follow_up_counts(s, actor.id, now, tonight),
                   "follow_ups": [dict(FU_OUT.dump(repo.follow_up_output(fu, now)),
                                       opportunity_name=name)
                                  for fu, name in day.due_follow_ups(s, actor.id, tonight)],
                   "new_leads": [LEAD_OUT.dump(repo.lead_output(x, actor)) for x in
                                 day.new_leads(s, actor.id, now - dt.timedelta(days=7))],
                   "past_close": [OPP_OUT.dump(repo.opportunity_output(o, now))
                                  for o in day.past_close(s, actor.id, today)],
                   "orders": [ORDER_OUT.dump(repo.order_output(o))
                              for o in day.waiting_orders(s, actor.id)],
                   "unassigned": {"items": [], "total": 0}}
            if actor.is_manager:
                rows, total = day.unassigned_leads(s)
                out["unassigned"] = {"items": [LEAD_OUT.dump(repo.lead_output(x, actor))
                                               for x in rows], "total": total}
        return out

    @_rpc
    def follow_up_counts(self):
        """The caller's open follow-ups → {overdue, due_today} (the page header's count)."""
        actor = self.actor.get()
        now = dt.datetime.now(dt.UTC)
        _, tonight = day.end_of_local_day(now, self._tz())
        with self.db.read_uow() as uow:
            return day.follow_up_counts(uow.session, actor.id, now, tonight)

    @_rpc
    def pipeline_board(self, owner_id=None, pages=None, page_size=10, cursors=None):
        """The board in one call → {columns: [{stage, items (cards: id, name, amount,
        weighted_amount, stage, owner_id, customer_id, expected_close_date), total, page,
        page_size, next_cursor, total_is_estimate, totals {count, amount,
        weighted_amount}}] for qualify … lost, counts (the caller's follow-up counts)}.
        ``pages``: {stage: page}; ``cursors``: {stage: a column's next_cursor} (keyset,
        id order; wins over the page); staff see their own cards, managers all or
        ``owner_id``'s. ``total`` is capped like ``list_leads``' (``totals.count`` is
        exact)."""
        actor = self.actor.get()
        scope = actor.owner_scope()
        if scope is None and owner_id:
            scope = str(owner_id)[:64]
        page_size = page_args(1, page_size)[1]
        if cursors is not None and not isinstance(cursors, dict):
            raise validation_error({"cursors": "an object {stage: cursor}"})
        now = dt.datetime.now(dt.UTC)
        _, tonight = day.end_of_local_day(now, self._tz())
        columns = []
        with self.db.read_uow() as uow:
            s = uow.session
            totals = day.stage_totals(s, scope)
            for stage in domain.STAGES + domain.CLOSED_STAGES:
                number = page_args((pages or {}).get(stage, 1), page_size)[0]
                cards, nxt, total, est = day.board_column(
                    s, stage, scope, number, page_size, (cursors or {}).get(stage))
                t = totals[stage]
                columns.append({"stage": stage, "page": number, "page_size": page_size,
                                "total": total, "items": cards, "next_cursor": nxt,
                                "total_is_estimate": est,
                                "totals": {"count": t["count"], "amount": str(t["amount"]),
                                           "weighted_amount": str(t["weighted_amount"])}})
            counts = day.follow_up_counts(s, actor.id, now, tonight)
        return {"columns": columns, "counts": counts}

    @_rpc
    def board_column(self, stage, owner_id=None, page=1, page_size=10, cursor=None):
        """One column of the pipeline board → {stage, items (cards as
        ``pipeline_board``'s), total, page, page_size, next_cursor, total_is_estimate}:
        keyset-paged by id (``cursor``: this column's next_cursor). Staff see their own
        cards, managers all or ``owner_id``'s."""
        actor = self.actor.get()
        if stage not in domain.STAGES + domain.CLOSED_STAGES:
            raise validation_error({"stage": "one of " + ", ".join(
                domain.STAGES + domain.CLOSED_STAGES)})
        scope = actor.owner_scope()
        if scope is None and owner_id:
            scope = str(owner_id)[:64]
        page, page_size = page_args(page, page_size)
        with self.db.read_uow() as ro:
            cards, nxt, total, est = day.board_column(ro.session, stage, scope, page,
                                                      page_size, cursor)
        return dict(paging.paged(cards, total, page, page_size, nxt, est), stage=stage)

    @_rpc
    def opportunity_view(self, opportunity_id):
        """The opportunity page in one call → {opportunity, follow_ups, activities, orders
        (each up to 100), counts (the caller's follow-up counts)}. NotFound if not yours."""
        actor = self.actor.get()
        now = dt.datetime.now(dt.UTC)
        _, tonight = day.end_of_local_day(now, self._tz())
        scope = actor.owner_scope()
        with self.db.read_uow() as uow:
            s = uow.session
            opp = repo.get_opportunity(s, opportunity_id, actor)
            by_opp = {"opportunity_id": opp.id}
            fus, _ = repo.page(s, repo.follow_ups_query(by_opp, scope, now),
                               repo.FollowUp.due_at, 1, 100)
            acts, _ = repo.page(s, repo.activities_query(by_opp, scope), repo.Activity.id, 1,
                                100)
            orders, _ = repo.page(s, repo.orders_query(by_opp, scope), repo.Order.id, 1, 100)
            return {"opportunity": OPP_OUT.dump(repo.opportunity_output(opp, now)),
                    "follow_ups": [FU_OUT.dump(repo.follow_up_output(f, now)) for f in fus],
                    "activities": [ACT_OUT.dump(repo.activity_output(a)) for a in acts],
                    "orders": [ORDER_OUT.dump(repo.order_output(o)) for o in orders],
                    "counts": day.follow_up_counts(s, actor.id, now, tonight)}

    @_rpc
    def pipeline_totals(self, owner_id=None):
        """Per stage (qualify … lost): {count, amount, weighted_amount} of the opportunities
        you may see (managers: optionally one owner's); weighted = Σ amount × the stage's
        probability, rounded once per stage (the board's column totals)."""
        actor = self.actor.get()
        scope = actor.owner_scope()
        if scope is None and owner_id:
            scope = str(owner_id)[:64]
        with self.db.read_uow() as uow:
            totals = day.stage_totals(uow.session, scope)
        return {stage: {"count": v["count"], "amount": str(v["amount"]),
                        "weighted_amount": str(v["weighted_amount"])}
                for stage, v in totals.items()}

    # --- events and timers ------------------------------------------------------------------------
    @event_handler("customers", "contact_erased")
    def on_contact_erased(self, envelope):
        """A contact person's data erased at customers (PIPL): erase our copies."""
        common_erasure.apply(self.db, envelope, sales_erasure.erase)

    @event_handler("customers", "customers_merged")
    def on_customers_merged(self, envelope):
        """Leads, opportunities and orders of a merged customer now name the kept one."""
        merges.apply(self.db, envelope, MERGE_TARGETS)

    @event_handler("marketing", "campaign_lead_generated")
    def on_campaign_lead_generated(self, envelope):
        """marketing's lead → a sales lead, assigned by the rules; one per participant."""
        when = dt.datetime.fromisoformat(envelope["occurred_at"].replace("Z", "+00:00"))
        hits = scan(envelope["data"])
        if hits:  # never store it; the dead-letter queue keeps it for a human
            raise PoisonEvent(f"sensitive data in {sorted(hits)}")
        data = envelope["data"]
        with self.db.read_uow() as uow:  # a re-sent lead needs no RPC
            known = repo.lead_for_participant(uow.session, str(data["campaign_id"]),
                                              str(data["participant_id"])) is not None
        contact = None if known else self._campaign_contact(data)  # RPC before the uow
        with self.db.uow() as uow:
            if uow.already_applied(envelope):
                return
            commands.lead_from_campaign(uow, envelope["data"], when, contact)
            uow.commit()

    def _campaign_contact(self, data):
        """The participant's contact (name, mobile, email) from marketing, as a system
        call; for a participant registered as a customer without its own contact data,
        the customer's primary contact. Best effort, bounded at CONTACT_TIMEOUT: if a
        peer is down the lead is made without it (a lead must not wait for marketing)
        and ``refill_campaign_contacts`` fetches it later → dict or None."""
        try:
            return self._fetch_contact(data)
        except (ServiceUnavailable, UnknownService) as exc:
            log.warning("campaign lead contact not fetched now (%s); refilled later",
                        type(exc).__name__)
            return None

    def _fetch_contact(self, data):
        cfg = {"RPC_TIMEOUT": CONTACT_TIMEOUT}
        p = get_or_none(self.marketing_system, "get_participant", data["campaign_id"],
                        data["participant_id"], config=cfg) or {}
        contact = {"contact_name": p.get("contact_name"), "contact_mobile": p.get("mobile"),
                   "contact_email": p.get("email")}
        if not (contact["contact_mobile"] or contact["contact_email"]) and (
                p.get("customer_id") or data.get("customer_id")):
            customer = get_or_none(self.customers_system, "get_customer",
                                   p.get("customer_id") or data.get("customer_id"),
                                   config=cfg) or {}
            primary = next((c for c in customer.get("contacts") or () if c.get("is_primary")),
                           None) or next(iter(customer.get("contacts") or ()), None) or {}
            contact = {"contact_name": contact["contact_name"] or primary.get("name"),
                       "contact_mobile": primary.get("mobile"),
                       "contact_email": primary.get("email")}
        return contact

    @timer(interval=60)
    def refill_campaign_contacts(self):
        """Campaign leads of the last 7 days made while marketing was silent get their
        contact now (a few per run; stops at the first silent peer)."""
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
        with self.db.read_uow() as uow:
            todo = repo.campaign_leads_without_contact(uow.session, since, limit=20)
        for lead_id, campaign_id, participant_id, customer_id in todo:
            contact = self._campaign_contact({"campaign_id": campaign_id,
                                              "participant_id": participant_id,
                                              "customer_id": customer_id})
            if contact is None:
                return
            if contact.get("contact_mobile") or contact.get("contact_email"):
                with self.db.uow() as uow:
                    commands.fill_contact(uow, lead_id, contact)
                    uow.commit()

    @timer(interval=30)
    def refresh_overdue_gauge(self):
        self._refresh_overdue()
