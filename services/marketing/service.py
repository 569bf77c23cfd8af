"""marketing: campaigns from plan to evaluation (nameko service ``marketing``).

Every method: load (sensitive-data scan + schema) → customers RPC if needed
(before any unit of work is open) → uow → domain → dump. Access: the owner and
managers change a campaign; marketing staff see all campaigns; anyone else
sees only campaigns they own (others are NotFound).
"""
from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from services.common import erasure as common_erasure
from services.common import merges, paging
from services.common.errors import Forbidden, validation_error
from services.common.handlers import event_handler
from services.common.schemas import load, page_args
from services.common.service import DomainService, declared_rpc
from services.common.uow import Database
from services.marketing import commands, domain
from services.marketing import erasure as marketing_erasure
from services.marketing import repository as repo
from services.marketing.channels import load_adapter
from services.marketing.customers_client import Customers
from services.marketing.exceptions import EXPECTED, Conflict
from services.marketing.models import (
    AudienceMember,
    Base,
    OutreachMessage,
    Participant,
    SalesLead,
    SalesOpportunity,
    SalesOrder,
)
from services.marketing.name_rpc import CampaignNames
from services.marketing.schemas import (
    AudienceMemberOutSchema,
    CampaignChangesSchema,
    CampaignInSchema,
    CampaignOutSchema,
    CancelSchema,
    EvaluationSchema,
    FeedbackInSchema,
    LeadInSchema,
    ListFiltersSchema,
    MilestoneInSchema,
    MilestoneOutSchema,
    OutreachInSchema,
    OutreachOutSchema,
    ParticipantInSchema,
    ParticipantOutSchema,
    TemplateInSchema,
    TemplateOutSchema,
)
from services.marketing.workspace_rpc import WorkspaceRpc

OUT = CampaignOutSchema()
PARTICIPANT_OUT = ParticipantOutSchema()
LEADS_GENERATED = Counter("crm_marketing_leads_generated_total",
                          "Leads handed to sales from campaign participants")
OUTREACH_SENT = Counter("crm_marketing_outreach_messages_total",
                        "Outreach messages handed to the channel adapter", ["channel", "status"])


_rpc = declared_rpc(EXPECTED)


MERGE_TARGETS = [(Participant, "customer_id", "campaign_id"),
                 (AudienceMember, "customer_id", "campaign_id"),
                 (OutreachMessage, "customer_id", None), (SalesLead, "customer_id", None),
                 (SalesOpportunity, "customer_id", None), (SalesOrder, "customer_id", None)]


class MarketingService(WorkspaceRpc, CampaignNames, DomainService):
    name = "marketing"

    db = Database(Base)
    customers = Customers()

    def _out(self, campaign):
        return OUT.dump(repo.campaign_out(campaign, repo.utcnow(), repo.tz(self.config)))

    # --- plan -------------------------------------------------------------------
    @_rpc
    def create_campaign(self, data, at=None):
        """Create a draft campaign (plan, audience filter, milestones) → the campaign."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        data = load(CampaignInSchema(), data)
        if not (actor.is_manager or actor.department == repo.MARKETING):
            raise Forbidden("only the marketing department and managers create campaigns")
        with self.db.uow() as uow:
            campaign = commands.create(uow, actor, data, when)
            uow.commit()
            return self._out(campaign)

    @_rpc
    def get_campaign(self, campaign_id):
        actor = self.actor.get()
        with self.db.uow() as uow:
            return self._out(repo.get(uow.session, campaign_id, actor))

    @_rpc
    def list_campaigns(self, filters=None, page=1, page_size=20, cursor=None):
        """Campaigns you may see, newest first → {items, total, page, page_size,
        next_cursor, total_is_estimate} (keyset paging, read-only unit of work)."""
        actor = self.actor.get()
        filters = load(ListFiltersSchema(), filters or {})
        page, page_size = page_args(page, page_size)
        with self.db.read_uow() as ro:
            rows, nxt, total, est = repo.list_page(ro.session, filters, actor, page, page_size,
                                                   cursor)
            return paging.paged([self._out(c) for c in rows], total, page, page_size, nxt,
                                est)

    @_rpc
    def update_campaign(self, campaign_id, changes, at=None):
        """Change the plan (draft/scheduled only) or the actual cost (until completed);
        optional ``version`` for optimistic locking. Managers may set ``owner_id``."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        changes = load(CampaignChangesSchema(), changes, partial=True)
        try:
            with self.db.uow() as uow:
                campaign = repo.get_for_change(uow.session, campaign_id, actor)
                commands.update(uow, actor, campaign, changes, when)
                uow.commit()
                return self._out(campaign)
        except StaleDataError:
            raise Conflict("the campaign was changed by someone else; reload and retry",
                           {"version": ["stale"]}, code="STALE_VERSION") from None

    def _transition(self, campaign_id, at, fn):
        actor = self.actor.get()
        when = actor.resolve_at(at)
        with self.db.uow() as uow:
            campaign = repo.get_for_change(uow.session, campaign_id, actor)
            fn(uow, campaign, when)
            uow.commit()
            return self._out(campaign)

    @_rpc
    def schedule_campaign(self, campaign_id, at=None):
        """draft → scheduled (the plan must be complete). Conflict otherwise."""
        return self._transition(campaign_id, at, commands.schedule)

    @_rpc
    def launch_campaign(self, campaign_id, at=None):
        """scheduled → running: resolve the audience through customers.list_customers and
        store it as a snapshot with its size; emits campaign_launched."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        with self.db.uow() as uow:  # check first: no RPC for a call that must fail
            campaign = repo.get_for_change(uow.session, campaign_id, actor)
            commands.check_transition(campaign, "launch")
            audience = dict(campaign.audience_filter or {})
        rows = self.customers.resolve_audience(audience)  # RPC with no uow open
        with self.db.uow() as uow:
            campaign = repo.get_for_change(uow.session, campaign_id, actor)
            commands.launch(uow, campaign, rows, when)
            uow.commit()
            return self._out(campaign)

    @_rpc
    def complete_campaign(self, campaign_id, at=None):
        """running → completed; emits campaign_completed."""
        return self._transition(campaign_id, at, commands.complete)

    @_rpc
    def cancel_campaign(self, campaign_id, reason, at=None):
        """draft|scheduled|running → cancelled (with a reason)."""
        reason = load(CancelSchema(), {"reason": reason})["reason"]
        return self._transition(campaign_id, at,
                                lambda uow, c, when: commands.cancel(uow, c, reason, when))

    @_rpc
    def add_milestone(self, campaign_id, data, at=None):
        """Add a task node (title, owner_id, due_date) → the milestone."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        data = load(MilestoneInSchema(), data)
        with self.db.uow() as uow:
            campaign = repo.get_for_change(uow.session, campaign_id, actor)
            m = commands.add_milestone(uow, campaign, data, when)
            uow.commit()
            return self._milestone(campaign, m.id)

    @_rpc
    def complete_milestone(self, campaign_id, milestone_id, at=None):
        """Mark a milestone done (campaign owner, managers, or the milestone's owner)."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        with self.db.uow() as uow:
            campaign = repo.get(uow.session, campaign_id, actor, for_update=True)
            mine = any(m.id == milestone_id and m.owner_id == actor.id
                       for m in campaign.milestones)
            if not mine:
                campaign = repo.get_for_change(uow.session, campaign_id, actor)
            m = commands.complete_milestone(uow, campaign, milestone_id, actor, when)
            uow.commit()
            return self._milestone(campaign, m.id)

    def _milestone(self, campaign, milestone_id):
        out = repo.campaign_out(campaign, repo.utcnow(), repo.tz(self.config))
        return MilestoneOutSchema().dump(
            next(m for m in out["milestones"] if m["id"] == milestone_id))

    @_rpc
    def get_audience(self, campaign_id, page=1, page_size=20, cursor=None):
        """The audience snapshot taken at launch → {campaign_id, audience_size, items,
        total, page, page_size, next_cursor, total_is_estimate}, by customer_id (keyset:
        ``cursor``)."""
        actor = self.actor.get()
        page, page_size = page_args(page, page_size)
        with self.db.read_uow() as uow:
            campaign = repo.get(uow.session, campaign_id, actor)
            rows, nxt, total, est = repo.audience_page(uow.session, campaign, page, page_size,
                                                       cursor)
            out = paging.paged(AudienceMemberOutSchema(many=True).dump(rows), total, page,
                               page_size, nxt, est)
            out.update(campaign_id=campaign.id, audience_size=campaign.audience_size)
            return out

    # --- participants -----------------------------------------------------------
    @_rpc
    def register_participant(self, campaign_id, participant, at=None):
        """Register ``{"customer_id": n}`` or ``{"contact": {name, company, mobile, email}}``
        (optional ``segment``, ``need``) → the participant. Conflict if already registered."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        data = load(ParticipantInSchema(), participant)
        with self.db.uow() as uow:  # access and state before any RPC
            campaign = repo.get_for_change(uow.session, campaign_id, actor)
            commands.require_state(campaign, "register participants", domain.REGISTRATION_OPEN)
        customer = None
        if "customer_id" in data:
            customer = self.customers.get_customer(data["customer_id"])
            if customer is None:
                raise validation_error({"customer_id": "no such customer"})
        with self.db.uow() as uow:
            campaign = repo.get_for_change(uow.session, campaign_id, actor)
            p = commands.register(uow, actor, campaign, data, customer, when)
            uow.commit()
            return PARTICIPANT_OUT.dump(repo.participant_out(
                uow.session, p, repo.shows_contact(actor, campaign)))

    @_rpc
    def get_participant(self, campaign_id, participant_id):
        """One participant; contact data in clear for the campaign owner and system
        callers (sales asks here when it needs to phone a campaign lead)."""
        actor = self.actor.get()
        with self.db.uow() as uow:
            campaign = repo.get(uow.session, campaign_id, actor)
            p = repo.get_participant(uow.session, campaign, participant_id)
            clear = repo.shows_contact(actor, campaign)
            out = PARTICIPANT_OUT.dump(repo.participant_out(uow.session, p, clear))
        if clear and (out.get("mobile") or out.get("email")):  # the contact in clear
            self.db.audit.note_read(actor.label if not actor.service else
                                    f"svc:{actor.service}", "participant", [out["id"]],
                                    "contacts_read", "marketing.get_participant")
        return out

    @_rpc
    def list_participants(self, campaign_id, page=1, page_size=20, cursor=None):
        """The campaign's participants in id order → {items, total, page, page_size,
        next_cursor, total_is_estimate} (keyset paging, read-only unit of work)."""
        actor = self.actor.get()
        page, page_size = page_args(page, page_size)
        with self.db.read_uow() as ro:
            campaign = repo.get(ro.session, campaign_id, actor)
            stmt = select(Participant).where(Participant.campaign_id == campaign.id)
            rows, nxt, total, est = paging.orm_page(ro.session, stmt, Participant.id,
                                                    {"campaign_id": campaign.id}, cursor,
                                                    page, page_size)
            show = repo.shows_contact(actor, campaign)
            items = [PARTICIPANT_OUT.dump(repo.participant_out(ro.session, p, show))
                     for p in rows]
        clear = [o["id"] for o in items if o.get("mobile") or o.get("email")] if show else []
        if clear:  # the rows whose contact is in clear (also each page of the export)
            self.db.audit.note_read(actor.label if not actor.service else
                                    f"svc:{actor.service}", "participant", clear,
                                    "contacts_read", "marketing.list_participants")
        return paging.paged(items, total, page, page_size, nxt, est)

    def _participant_action(self, campaign_id, participant_id, at, fn):
        actor = self.actor.get()
        when = actor.resolve_at(at)
        with self.db.uow() as uow:
            campaign = repo.get_for_change(uow.session, campaign_id, actor)
            p = repo.get_participant(uow.session, campaign, participant_id)
            fn(uow, actor, campaign, p, when)
            uow.commit()
            return PARTICIPANT_OUT.dump(repo.participant_out(
                uow.session, p, repo.shows_contact(actor, campaign)))

    @_rpc
    def check_in(self, campaign_id, participant_id, at=None):
        """Record attendance (running campaigns). Conflict if already checked in."""
        return self._participant_action(
            campaign_id, participant_id, at,
            lambda uow, actor, c, p, when: commands.check_in(uow, c, p, when))

    @_rpc
    def record_feedback(self, campaign_id, participant_id, score, comment=None, at=None):
        """Feedback score 1–5 + comment (running or completed) → the participant."""
        args = load(FeedbackInSchema(), {"score": score, "comment": comment})
        return self._participant_action(
            campaign_id, participant_id, at,
            lambda uow, actor, c, p, when: commands.feedback(
                uow, actor, c, p, args["score"], args.get("comment"), when))

    @_rpc
    def generate_lead(self, campaign_id, participant_id, need=None, at=None):
        """Hand an interested participant to sales: emits campaign_lead_generated exactly
        once per participant. A second call is a Conflict (LEAD_ALREADY_GENERATED)."""
        args = load(LeadInSchema(), {"need": need})

        def go(uow, actor, campaign, p, when):
            commands.generate_lead(uow, campaign, p, args.get("need"), when)
        out = self._participant_action(campaign_id, participant_id, at, go)
        LEADS_GENERATED.inc()
        return out

    # --- evaluation -------------------------------------------------------------
    @_rpc
    def evaluate_campaign(self, campaign_id):
        """participants, attendance rate, feedback, leads generated / converted, won amount,
        cost and ROI = (won − cost) / cost (null when cost is 0). Sales numbers come from
        the sales events marketing consumes."""
        actor = self.actor.get()
        with self.db.uow() as uow:
            campaign = repo.get(uow.session, campaign_id, actor)
            parts, leads, opps, orders = repo.evaluation_inputs(uow.session, campaign)
            result = domain.evaluation(
                {"id": campaign.id, "state": campaign.state, "cost": campaign.cost,
                 "budget": campaign.budget, "audience_size": campaign.audience_size},
                parts, leads, opps, orders, since=repo.since_for(campaign))
            return EvaluationSchema().dump(result)

    # --- outreach ---------------------------------------------------------------
    @_rpc
    def add_template(self, campaign_id, data, at=None):
        """A per-segment message template (``$name``, ``$coupon_code``, ``$offer``, ...)."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        data = load(TemplateInSchema(), data)
        with self.db.uow() as uow:
            campaign = repo.get_for_change(uow.session, campaign_id, actor)
            t = commands.add_template(uow, actor, campaign, data, when)
            uow.commit()
            return TemplateOutSchema().dump(repo.template_dict(t))

    @_rpc
    def list_templates(self, campaign_id):
        actor = self.actor.get()
        with self.db.uow() as uow:
            campaign = repo.get(uow.session, campaign_id, actor)
            return TemplateOutSchema(many=True).dump(
                [repo.template_dict(t) for t in repo.templates(uow.session, campaign)])

    @_rpc
    def send_outreach(self, campaign_id, channel, participant_ids=None, at=None):
        """Render each participant's segment template for ``channel`` and hand it to the
        channel adapter; record what was sent to whom. A participant already messaged on
        that channel is skipped (so a retry never sends twice)."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        args = load(OutreachInSchema(), {"channel": channel, "participant_ids": participant_ids})
        channel = args["channel"]
        with self.db.uow() as uow:
            campaign = repo.get_for_change(uow.session, campaign_id, actor)
            commands.require_state(campaign, "send outreach", domain.OUTREACH_OPEN)
            stmt = select(Participant).where(Participant.campaign_id == campaign.id)
            if args.get("participant_ids"):
                stmt = stmt.where(Participant.id.in_(args["participant_ids"]))
            parts = [{"id": p.id, "customer_id": p.customer_id, "contact_name": p.contact_name,
                      "company": p.company, "mobile": p.mobile, "email": p.email,
                      "segment": p.segment}
                     for p in uow.session.scalars(stmt.order_by(Participant.id))]
            unknown = set(args.get("participant_ids") or ()) - {p["id"] for p in parts}
            if unknown:
                raise validation_error({"participant_ids": f"not participants of this campaign: "
                                                           f"{sorted(unknown)}"})
        customers = self.customers.get_customers(
            sorted({p["customer_id"] for p in parts if p["customer_id"]}))
        for p in parts:
            if p["customer_id"]:
                c = customers.get(p["customer_id"]) or {}
                primary = next((x for x in c.get("contacts") or () if x.get("is_primary")), {})
                p["mobile"], p["email"] = primary.get("mobile"), primary.get("email")
                p["contact_name"] = p["contact_name"] or primary.get("name")
        adapter = load_adapter(self.config)
        zone = repo.tz(self.config)
        with self.db.uow() as uow:
            campaign = repo.get_for_change(uow.session, campaign_id, actor)
            templates = [repo.template_dict(t) for t in repo.templates(uow.session, campaign)]
            done = set(uow.session.scalars(select(OutreachMessage.participant_id).where(
                OutreachMessage.campaign_id == campaign.id, OutreachMessage.channel == channel)))
            sent, skipped = [], []
            for p in parts:
                template = domain.pick_template(templates, p["segment"], channel)
                recipient = domain.recipient_for(channel, p["mobile"], p["email"])
                reason = ("already sent on this channel" if p["id"] in done else
                          f"no {channel} template for segment {p['segment']} or default"
                          if template is None else
                          f"no {channel} address" if not recipient else None)
                if reason:
                    skipped.append({"participant_id": p["id"], "reason": reason})
                    continue
                subject, body = commands.render_for(campaign, p, template, zone)
                sent.append(commands.record_outreach(uow, actor, campaign, p, template, channel,
                                                     recipient, subject, body, adapter, when))
            uow.session.flush()
            uow.commit()
            for m in sent:
                OUTREACH_SENT.labels(channel, m.status).inc()
            return {"campaign_id": campaign.id, "channel": channel, "sent": len(sent),
                    "skipped": skipped, "messages": OutreachOutSchema(many=True).dump(sent)}

    @_rpc
    def list_outreach(self, campaign_id, page=1, page_size=20, cursor=None):
        """What was sent to whom (recipient masked) by which channel, in id order (keyset:
        ``cursor``)."""
        actor = self.actor.get()
        page, page_size = page_args(page, page_size)
        with self.db.read_uow() as uow:
            campaign = repo.get(uow.session, campaign_id, actor)
            rows, nxt, total, est = repo.outreach_page(uow.session, campaign, page,
                                                       page_size, cursor)
            return paging.paged(OutreachOutSchema(many=True).dump(rows), total, page,
                                page_size, nxt, est)

    # --- events -----------------------------------------------------------------
    @event_handler("customers", "contact_erased")
    def on_contact_erased(self, envelope):
        """A contact person's data erased at customers (PIPL): erase our copies."""
        common_erasure.apply(self.db, envelope, marketing_erasure.erase)

    @event_handler("customers", "customers_merged")
    def on_customers_merged(self, envelope):
        """Participants, audience rows, outreach and the sales copies of a merged
        customer now name the kept one. Where a campaign holds both records, the kept
        customer's audience row stays (the other is dropped) and the merged customer's
        participant row stays as it was (its feedback and leads are its own)."""
        merges.apply(self.db, envelope, MERGE_TARGETS,
                     drops=[(AudienceMember, "customer_id")])

    @event_handler("sales", "lead_created")
    @event_handler("sales", "lead_converted")
    @event_handler("sales", "opportunity_created")
    @event_handler("sales", "opportunity_won")
    @event_handler("sales", "order_placed")
    @event_handler("sales", "order_changed")
    @event_handler("sales", "order_cancelled")
    def on_sales_event(self, envelope):
        """Keep marketing's own view of campaign leads, opportunities and orders."""
        with self.db.uow() as uow:
            if uow.already_applied(envelope):
                return
            commands.apply_sales_event(uow, envelope)
            uow.commit()
