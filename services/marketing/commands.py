"""marketing's write operations inside the caller's unit of work (nothing here commits)."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.common.errors import Conflict, NotFound, validation_error
from services.common.identifiers import mask_email, mask_mobile
from services.marketing import domain
from services.marketing import repository as repo
from services.marketing.models import (
    AudienceMember,
    Campaign,
    Feedback,
    MessageTemplate,
    Milestone,
    OutreachMessage,
    Participant,
    SalesLead,
    SalesOpportunity,
    SalesOrder,
)
from services.marketing.schemas import PLAN_FIELDS


def _conflict_state(campaign, what, states):
    raise Conflict(f"cannot {what} while the campaign is {campaign.state} "
                   f"(allowed when {', '.join(states)})", code="ILLEGAL_STATE")


def require_state(campaign, what, states):
    if campaign.state not in states:
        _conflict_state(campaign, what, states)


def check_transition(campaign, action):
    try:
        domain.next_state(campaign.state, action)
    except domain.IllegalTransition as exc:
        raise Conflict(str(exc), code="ILLEGAL_TRANSITION") from None


def transition(campaign, action, when):
    try:
        campaign.state = domain.next_state(campaign.state, action)
    except domain.IllegalTransition as exc:
        raise Conflict(str(exc), code="ILLEGAL_TRANSITION") from None
    campaign.updated_at = when


def owner_for(actor, requested):
    if actor.is_manager:
        return requested or actor.id or "system"
    if requested and requested != actor.id:
        raise validation_error({"owner_id": "staff can only create campaigns they own"})
    return actor.id


# --- plan ------------------------------------------------------------------------
def create(uow, actor, data, when):
    milestones = data.pop("milestones", [])
    campaign = Campaign(
        theme=data["theme"], goal=data.get("goal"), audience_filter=data.get("audience") or {},
        starts_at=data["starts_at"], ends_at=data["ends_at"], location=data.get("location"),
        format=data["format"], owner_id=owner_for(actor, data.get("owner_id")),
        budget=data.get("budget"), cost=data.get("cost") or Decimal("0.00"), state="draft",
        created_by=actor.label, created_at=when, updated_at=when)
    campaign.milestones = [Milestone(**m) for m in milestones]
    uow.session.add(campaign)
    uow.session.flush()
    return campaign


def update(uow, actor, campaign, changes, when):
    version = changes.pop("version", None)
    if version is not None and version != campaign.version:
        raise Conflict("the campaign was changed by someone else; reload and retry",
                       {"version": [f"stale: current version is {campaign.version}"]},
                       code="STALE_VERSION")
    if "owner_id" in changes:
        if not actor.is_manager:
            raise validation_error({"owner_id": "only managers may hand a campaign over"})
        campaign.owner_id = changes.pop("owner_id") or campaign.owner_id
    if "milestones" in changes:
        raise validation_error({"milestones": "use add_milestone / complete_milestone"})
    plan = [k for k in PLAN_FIELDS if k in changes]
    if plan and campaign.state not in domain.PLAN_EDITABLE:
        raise Conflict(f"the plan ({', '.join(plan)}) can only change while draft or "
                       f"scheduled; the campaign is {campaign.state}", code="ILLEGAL_STATE")
    if "cost" in changes and campaign.state not in domain.COST_EDITABLE:
        _conflict_state(campaign, "change the cost", domain.COST_EDITABLE)
    starts = changes.get("starts_at", campaign.starts_at)
    ends = changes.get("ends_at", campaign.ends_at)
    problem = domain.window_problem(starts, ends)
    if problem:
        raise validation_error({"ends_at": problem})
    for key in plan:
        target = "audience_filter" if key == "audience" else key
        setattr(campaign, target, changes[key])
    if "cost" in changes:
        campaign.cost = changes["cost"] or Decimal("0.00")
    campaign.updated_at = when
    uow.session.flush()
    return campaign


def schedule(uow, campaign, when):
    problems = domain.schedule_problems({
        "theme": campaign.theme, "starts_at": campaign.starts_at, "ends_at": campaign.ends_at,
        "format": campaign.format, "owner_id": campaign.owner_id,
        "location": campaign.location})
    if problems:
        raise validation_error(problems, "The plan is not complete enough to schedule")
    transition(campaign, "schedule", when)
    campaign.scheduled_at = when


def launch(uow, campaign, audience_rows, when):
    transition(campaign, "launch", when)
    seen = set()
    for row in audience_rows:
        if row["customer_id"] in seen:
            continue
        seen.add(row["customer_id"])
        uow.session.add(AudienceMember(campaign_id=campaign.id, **row))
    campaign.audience_size = len(seen)
    campaign.launched_at = when
    uow.session.flush()
    uow.emit("campaign_launched", repo.event_data(campaign, launched_at=when.isoformat()), when)


def complete(uow, campaign, when):
    transition(campaign, "complete", when)
    campaign.completed_at = when
    uow.session.flush()
    parts = uow.session.scalars(select(Participant).where(
        Participant.campaign_id == campaign.id)).all()
    uow.emit("campaign_completed", repo.event_data(
        campaign, participants=len(parts),
        attended=sum(1 for p in parts if p.attended_at),
        leads_generated=sum(1 for p in parts if p.lead_generated_at),
        completed_at=when.isoformat()), when)


def cancel(uow, campaign, reason, when):
    transition(campaign, "cancel", when)
    campaign.cancelled_at = when
    campaign.cancel_reason = reason


def add_milestone(uow, campaign, data, when):
    require_state(campaign, "add a milestone", domain.MILESTONES_OPEN)
    m = Milestone(campaign_id=campaign.id, **data)
    uow.session.add(m)
    campaign.updated_at = when
    uow.session.flush()
    uow.session.refresh(campaign)
    return m


def complete_milestone(uow, campaign, milestone_id, actor, when):
    m = uow.session.get(Milestone, milestone_id) if isinstance(milestone_id, int) else None
    if m is None or m.campaign_id != campaign.id:
        raise NotFound(f"milestone {milestone_id} not found in campaign {campaign.id}")
    if m.completed_at is not None:
        raise Conflict("the milestone is already completed", code="ALREADY_COMPLETED")
    require_state(campaign, "complete a milestone", domain.MILESTONES_OPEN)
    m.completed_at, m.completed_by = when, actor.label
    campaign.updated_at = when
    uow.session.flush()
    return m


# --- participants ----------------------------------------------------------------
def register(uow, actor, campaign, data, customer, when):
    """``customer`` is the customers.get_customer result when data names a customer."""
    require_state(campaign, "register participants", domain.REGISTRATION_OPEN)
    if customer is not None:
        p = Participant(campaign_id=campaign.id, customer_id=customer["id"], kind="customer",
                        company=customer.get("name"), region=customer.get("region"),
                        industry_code=customer.get("industry_code"), tier=customer.get("tier"))
        primary = next((c for c in customer.get("contacts") or () if c.get("is_primary")), None)
        p.contact_name = (primary or {}).get("name")
        dup = select(Participant.id).where(Participant.campaign_id == campaign.id,
                                           Participant.customer_id == customer["id"])
        field = "customer_id"
    else:
        c = data["contact"]
        p = Participant(campaign_id=campaign.id, customer_id=None, kind="contact",
                        contact_name=c["name"], company=c["company"], mobile=c.get("mobile"),
                        email=c.get("email"), region=c.get("region"),
                        industry_code=c.get("industry_code"))
        dup = None
        if c.get("mobile"):
            dup = select(Participant.id).where(Participant.campaign_id == campaign.id,
                                               Participant.mobile == c["mobile"])
        field = "contact.mobile"
    if dup is not None and uow.session.scalar(dup) is not None:
        raise Conflict("already registered for this campaign",
                       {field: ["already registered"]}, code="ALREADY_REGISTERED")
    p.segment = domain.participant_segment(data.get("segment"), p.tier, p.kind == "contact")
    p.need = data.get("need")
    p.registered_at, p.registered_by = when, actor.label
    uow.session.add(p)
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except IntegrityError:
        raise Conflict("already registered for this campaign",
                       {field: ["already registered"]}, code="ALREADY_REGISTERED") from None
    uow.emit("participant_registered", {
        "campaign_id": campaign.id, "participant_id": p.id, "customer_id": p.customer_id,
        "kind": p.kind, "segment": p.segment, "owner_id": campaign.owner_id}, when)
    return p


def check_in(uow, campaign, p, when):
    require_state(campaign, "check participants in", domain.CHECK_IN_OPEN)
    if p.attended_at is not None:
        raise Conflict("the participant has already checked in", code="ALREADY_CHECKED_IN")
    p.attended_at = when
    uow.session.flush()


def feedback(uow, actor, campaign, p, score, comment, when):
    require_state(campaign, "record feedback", domain.FEEDBACK_OPEN)
    f = Feedback(campaign_id=campaign.id, participant_id=p.id, score=score, comment=comment,
                 recorded_by=actor.label, recorded_at=when)
    uow.session.add(f)
    uow.session.flush()
    uow.emit("campaign_feedback_recorded", {
        "campaign_id": campaign.id, "participant_id": p.id, "customer_id": p.customer_id,
        "score": score, "feedback_id": f.id, "has_comment": bool(comment),
        "owner_id": campaign.owner_id}, when)
    return f


def generate_lead(uow, campaign, p, need, when):
    """Publish ``campaign_lead_generated`` once per participant; a second call is a Conflict."""
    require_state(campaign, "generate leads", domain.LEADS_OPEN)
    if p.lead_generated_at is not None:
        raise Conflict("a lead was already generated for this participant",
                       {"participant_id": [f"lead generated at {p.lead_generated_at.isoformat()}"]},
                       code="LEAD_ALREADY_GENERATED")
    if need:
        p.need = need
    p.lead_generated_at = when
    env = uow.emit("campaign_lead_generated", {
        "campaign_id": campaign.id, "participant_id": p.id, "customer_id": p.customer_id,
        "company_name": p.company, "contact_name": p.contact_name, "need": p.need,
        "region": p.region, "industry_code": p.industry_code, "owner_id": campaign.owner_id,
        "source": "campaign", "campaign_theme": campaign.theme}, when)
    p.lead_event_id = env["event_id"]
    uow.session.flush()
    return p


# --- outreach --------------------------------------------------------------------
def add_template(uow, actor, campaign, data, when):
    require_state(campaign, "add outreach templates",
                  ("draft",) + domain.OUTREACH_OPEN)
    t = MessageTemplate(campaign_id=campaign.id, segment=data.get("segment") or
                        domain.DEFAULT_SEGMENT, channel=data["channel"],
                        subject=data.get("subject"), body=data["body"], offer=data.get("offer"),
                        created_by=actor.label, created_at=when)
    exists = uow.session.scalar(select(MessageTemplate.id).where(
        MessageTemplate.campaign_id == campaign.id, MessageTemplate.segment == t.segment,
        MessageTemplate.channel == t.channel))
    if exists is not None:
        raise Conflict(f"a {t.channel} template for segment {t.segment} already exists",
                       {"segment": ["already has a template for this channel"]},
                       code="DUPLICATE_TEMPLATE")
    uow.session.add(t)
    uow.session.flush()
    return t


def render_for(campaign, p, template, zone, secret=""):
    values = {"name": p["contact_name"] or p["company"], "company": p["company"],
              "theme": campaign.theme, "location": campaign.location,
              "starts_at": campaign.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
              if campaign.starts_at else "",
              "ends_at": campaign.ends_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
              if campaign.ends_at else "",
              "offer": template["offer"] or "",
              "coupon_code": domain.coupon_code(campaign.id, p["id"], secret),
              "campaign_id": campaign.id}
    return domain.render(template["subject"], values), domain.render(template["body"], values)


def mask_recipient(channel, recipient):
    return mask_email(recipient) if channel == "email" else mask_mobile(recipient)


def record_outreach(uow, actor, campaign, p, template, channel, recipient, subject, body,
                    adapter, when):
    result = adapter.send({"campaign_id": campaign.id, "participant_id": p["id"],
                           "channel": channel, "recipient": recipient, "subject": subject,
                           "body": body})
    msg = OutreachMessage(
        campaign_id=campaign.id, participant_id=p["id"], customer_id=p["customer_id"],
        template_id=template["id"], segment=p["segment"], channel=channel,
        recipient_masked=mask_recipient(channel, recipient), subject=subject, body=body,
        adapter=adapter.name, status=result.get("status", "sent"),
        external_ref=result.get("external_ref"), sent_by=actor.label, sent_at=when)
    uow.session.add(msg)
    return msg


# --- sales events (idempotent through the inbox; any arrival order) ---------------
def _id(value):
    return None if value is None else str(value)


def _when(envelope):
    return dt.datetime.fromisoformat(envelope["occurred_at"].replace("Z", "+00:00")) \
        .astimezone(dt.UTC)


def _row(session, model, key, **init):
    row = session.get(model, key)
    if row is None:
        row = model(**init)
        session.add(row)
    return row


def _fill(row, **values):
    """Set values that are known now and not known yet (first writer wins for links)."""
    for k, v in values.items():
        if v is not None and getattr(row, k) is None:
            setattr(row, k, v)


def apply_sales_event(uow, envelope):
    s = uow.session
    kind, data, when = envelope["type"], envelope["data"], _when(envelope)
    campaign_id = _id(data.get("campaign_id"))
    if kind in ("lead_created", "lead_converted"):
        lead = _row(s, SalesLead, _id(data["lead_id"]), lead_id=_id(data["lead_id"]),
                    converted=False)
        _fill(lead, campaign_id=campaign_id, participant_id=_id(data.get("participant_id")),
              customer_id=_id(data.get("customer_id")))
        if kind == "lead_created":
            lead.created_at = when
        else:
            lead.converted, lead.converted_at = True, when
            lead.opportunity_id = _id(data["opportunity_id"])
            lead.customer_id = _id(data["customer_id"])
            opp = _row(s, SalesOpportunity, lead.opportunity_id,
                       opportunity_id=lead.opportunity_id, won=False)
            _fill(opp, lead_id=lead.lead_id, customer_id=lead.customer_id,
                  campaign_id=lead.campaign_id)
        # a lead that names the campaign lends it to its opportunity if that came first
        if lead.campaign_id and lead.opportunity_id:
            opp = s.get(SalesOpportunity, lead.opportunity_id)
            if opp is not None:
                _fill(opp, campaign_id=lead.campaign_id)
    elif kind in ("opportunity_created", "opportunity_won"):
        opp_id = _id(data["opportunity_id"])
        opp = _row(s, SalesOpportunity, opp_id, opportunity_id=opp_id, won=False)
        _fill(opp, lead_id=_id(data.get("lead_id")), customer_id=_id(data.get("customer_id")),
              campaign_id=campaign_id)
        if opp.campaign_id is None and opp.lead_id:
            lead = s.get(SalesLead, opp.lead_id)
            if lead is not None:
                _fill(opp, campaign_id=lead.campaign_id)
        if data.get("amount") is not None:
            opp.amount = Decimal(str(data["amount"]))
        if kind == "opportunity_created":
            opp.created_at = when
        else:
            opp.won, opp.won_at = True, when
    elif kind in ("order_placed", "order_changed", "order_cancelled"):
        order_id = _id(data["order_id"])
        order = _row(s, SalesOrder, order_id, order_id=order_id, placed=False, cancelled=False)
        _fill(order, customer_id=_id(data.get("customer_id")),
              opportunity_id=_id(data.get("opportunity_id")), campaign_id=campaign_id)
        if kind == "order_placed":
            order.placed, order.placed_at = True, when
        if kind == "order_cancelled":
            order.cancelled = True
        elif data.get("amount") is not None and domain.newer(order.amount_at, when):
            order.amount, order.amount_at = Decimal(str(data["amount"])), when
    s.flush()
