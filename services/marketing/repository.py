"""marketing's persistence: queries and output shaping inside a unit of work."""
import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from services.common import paging
from services.common.errors import Forbidden, NotFound
from services.common.identifiers import mask_email, mask_mobile
from services.marketing import domain
from services.marketing.models import (
    AudienceMember,
    Campaign,
    Feedback,
    MessageTemplate,
    OutreachMessage,
    Participant,
    SalesLead,
    SalesOpportunity,
    SalesOrder,
)

MARKETING = "marketing"


# --- access ----------------------------------------------------------------------
def can_see(actor, campaign):
    """Managers (and system) see all; marketing staff see their department's
    campaigns; anyone else only the campaigns they own."""
    return (actor.is_manager or actor.department == MARKETING
            or (actor.id is not None and actor.id == campaign.owner_id))


def can_change(actor, campaign):
    return actor.is_manager or (actor.id is not None and actor.id == campaign.owner_id)


def visible_clause(actor):
    if actor.is_manager or actor.department == MARKETING:
        return None
    return Campaign.owner_id == actor.id


def get(session, campaign_id, actor, for_update=False):
    """The campaign if the actor may see it, else NotFound (no existence leak)."""
    if not isinstance(campaign_id, int) or isinstance(campaign_id, bool):
        raise NotFound(f"campaign {campaign_id} not found")
    stmt = select(Campaign).where(Campaign.id == campaign_id)
    if for_update and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    campaign = session.scalar(stmt)
    if campaign is None or not can_see(actor, campaign):
        raise NotFound(f"campaign {campaign_id} not found")
    return campaign


def get_for_change(session, campaign_id, actor):
    campaign = get(session, campaign_id, actor, for_update=True)
    if not can_change(actor, campaign):
        raise Forbidden("only the campaign's owner or a manager may change it")
    return campaign


def get_participant(session, campaign, participant_id):
    p = session.get(Participant, participant_id) if isinstance(participant_id, int) else None
    if p is None or p.campaign_id != campaign.id:
        raise NotFound(f"participant {participant_id} not found in campaign {campaign.id}")
    return p


# --- output ----------------------------------------------------------------------
def tz(config):
    return ZoneInfo((config or {}).get("CRM_TIMEZONE") or "Asia/Shanghai")


def campaign_out(campaign, now, zone):
    today = domain.local_today(now, zone)
    milestones = [{"id": m.id, "title": m.title, "owner_id": m.owner_id, "due_date": m.due_date,
                   "completed_at": m.completed_at, "completed_by": m.completed_by,
                   "status": domain.milestone_status(m.completed_at, m.due_date, today)}
                  for m in campaign.milestones]
    out = {f: getattr(campaign, f) for f in (
        "id", "theme", "goal", "starts_at", "ends_at", "location", "format", "owner_id",
        "budget", "cost", "state", "audience_size", "scheduled_at", "launched_at",
        "completed_at", "cancelled_at", "cancel_reason", "created_by", "created_at",
        "updated_at", "version")}
    out["audience"] = dict(campaign.audience_filter or {})
    out["milestones"] = milestones
    out["milestones_overdue"] = sum(1 for m in milestones if m["status"] == "overdue")
    return out


def event_data(campaign, **extra):
    data = {"campaign_id": campaign.id, "owner_id": campaign.owner_id, "theme": campaign.theme,
            "format": campaign.format,
            "starts_at": campaign.starts_at.isoformat() if campaign.starts_at else None,
            "ends_at": campaign.ends_at.isoformat() if campaign.ends_at else None,
            "cost": str(domain.money(campaign.cost)),
            "budget": str(domain.money(campaign.budget)) if campaign.budget is not None
            else None,
            "audience_size": campaign.audience_size, "state": campaign.state}
    data = {k: v for k, v in data.items() if v is not None or k == "owner_id"}
    data.update(extra)
    return data


def participant_out(session, p, show_contact):
    lead = session.scalar(select(SalesLead.lead_id).where(
        SalesLead.campaign_id == str(p.campaign_id), SalesLead.participant_id == str(p.id)))
    feedback = session.scalars(select(Feedback).where(Feedback.participant_id == p.id)
                               .order_by(Feedback.id)).all()
    return {
        "id": p.id, "campaign_id": p.campaign_id, "kind": p.kind, "customer_id": p.customer_id,
        "contact_name": p.contact_name, "company": p.company,
        "mobile": p.mobile if show_contact else mask_mobile(p.mobile),
        "email": p.email if show_contact else mask_email(p.email),
        "region": p.region, "industry_code": p.industry_code, "tier": p.tier,
        "segment": p.segment, "need": p.need, "registered_at": p.registered_at,
        "attended": p.attended_at is not None, "attended_at": p.attended_at,
        "lead_generated": p.lead_generated_at is not None,
        "lead_generated_at": p.lead_generated_at, "sales_lead_id": lead,
        "feedback": [{"id": f.id, "score": f.score, "comment": f.comment,
                      "recorded_by": f.recorded_by, "recorded_at": f.recorded_at}
                     for f in feedback],
    }


def shows_contact(actor, campaign):
    """Contact data is shown in clear to the campaign's owner and trusted system calls."""
    return actor.is_system or actor.id == campaign.owner_id


# --- lists -----------------------------------------------------------------------
def list_page(session, filters, actor, page, page_size, cursor=None):
    """Campaigns newest first → (campaigns, next_cursor, total, is_estimate): keyset
    paging by id (``services.common.paging``)."""
    return paging.orm_page(session, campaigns_query(filters, actor), Campaign.id, filters,
                           cursor, page, page_size, descending=True)


def campaigns_query(filters, actor):
    """``select(Campaign)`` with the list's filters and the actor's visibility."""
    stmt = select(Campaign)
    clause = visible_clause(actor)
    if clause is not None:
        stmt = stmt.where(clause)
    for key in ("state", "format", "owner_id"):
        if filters.get(key):
            stmt = stmt.where(getattr(Campaign, key) == filters[key])
    if filters.get("q"):  # a substring: % and _ are plain characters (escaped)
        q = filters["q"]
        stmt = stmt.where(or_(*(col.contains(q, autoescape=True) for col in (
            Campaign.theme, Campaign.goal, Campaign.location))))
    if filters.get("customer_id"):  # the customer's campaigns: registered or targeted
        cid = filters["customer_id"]
        stmt = stmt.where(or_(
            Campaign.id.in_(select(Participant.campaign_id).where(Participant.customer_id == cid)),
            Campaign.id.in_(select(AudienceMember.campaign_id)
                            .where(AudienceMember.customer_id == cid))))
    return stmt


def page_of(session, stmt, order_by, page, page_size):
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(order_by).offset((page - 1) * page_size)
                           .limit(page_size)).all()
    return rows, total


def audience_page(session, campaign, page, page_size, cursor=None):
    """The audience by customer_id → (rows, next_cursor, total, is_estimate): keyset
    paging through uq_audience_member (campaign_id, customer_id)."""
    stmt = select(AudienceMember).where(AudienceMember.campaign_id == campaign.id)
    return paging.orm_page_by(session, stmt, (AudienceMember.customer_id,),
                              {"audience": campaign.id}, cursor, page, page_size)


def participants_page(session, campaign, page, page_size):
    stmt = select(Participant).where(Participant.campaign_id == campaign.id)
    return page_of(session, stmt, Participant.id, page, page_size)


def outreach_page(session, campaign, page, page_size, cursor=None):
    """The outreach log in id order → (rows, next_cursor, total, is_estimate): keyset
    paging through ix_campaign_outreach_campaign_id_id."""
    stmt = select(OutreachMessage).where(OutreachMessage.campaign_id == campaign.id)
    return paging.orm_page(session, stmt, OutreachMessage.id, {"outreach": campaign.id},
                           cursor, page, page_size)


def templates(session, campaign):
    return session.scalars(select(MessageTemplate).where(
        MessageTemplate.campaign_id == campaign.id).order_by(MessageTemplate.id)).all()


def template_dict(t):
    return {k: getattr(t, k) for k in ("id", "campaign_id", "segment", "channel", "subject",
                                       "body", "offer", "created_by", "created_at")}


# --- evaluation inputs -----------------------------------------------------------
def evaluation_inputs(session, campaign):
    cid = str(campaign.id)
    participants = session.scalars(select(Participant).where(
        Participant.campaign_id == campaign.id)).all()
    scores = {}
    for pid, score in session.execute(select(Feedback.participant_id, Feedback.score).where(
            Feedback.campaign_id == campaign.id)):
        scores.setdefault(pid, []).append(score)
    parts = [{"id": p.id, "attended_at": p.attended_at, "lead_generated_at": p.lead_generated_at,
              "scores": scores.get(p.id, [])} for p in participants]
    leads = [{"lead_id": r.lead_id, "campaign_id": r.campaign_id, "customer_id": r.customer_id,
              "converted": r.converted, "opportunity_id": r.opportunity_id}
             for r in session.scalars(select(SalesLead).where(SalesLead.campaign_id == cid))]
    lead_ids = [lead["lead_id"] for lead in leads]
    opp_ids = [lead["opportunity_id"] for lead in leads if lead["opportunity_id"]]
    conds = [SalesOpportunity.campaign_id == cid]
    if lead_ids:
        conds.append(SalesOpportunity.lead_id.in_(lead_ids))
    if opp_ids:
        conds.append(SalesOpportunity.opportunity_id.in_(opp_ids))
    opps = [{"opportunity_id": o.opportunity_id, "lead_id": o.lead_id,
             "campaign_id": o.campaign_id, "customer_id": o.customer_id, "won": o.won}
            for o in session.scalars(select(SalesOpportunity).where(or_(*conds)))]
    all_opp_ids = {o["opportunity_id"] for o in opps} | set(opp_ids)
    customers = {o["customer_id"] for o in opps if o["customer_id"]}
    customers |= {lead["customer_id"] for lead in leads
                  if lead["converted"] and lead["customer_id"]}
    conds = [SalesOrder.campaign_id == cid]
    if all_opp_ids:
        conds.append(SalesOrder.opportunity_id.in_(sorted(all_opp_ids)))
    if customers:
        conds.append(SalesOrder.customer_id.in_(sorted(customers)))
    orders = [{"order_id": o.order_id, "campaign_id": o.campaign_id,
               "customer_id": o.customer_id, "opportunity_id": o.opportunity_id,
               "amount": o.amount, "placed": o.placed, "placed_at": o.placed_at,
               "cancelled": o.cancelled}
              for o in session.scalars(select(SalesOrder).where(or_(*conds)))]
    # lead-less converted leads may name the opportunity only: give it to the helper too
    for lead in leads:
        if lead["opportunity_id"] and lead["opportunity_id"] not in {
                o["opportunity_id"] for o in opps}:
            opps.append({"opportunity_id": lead["opportunity_id"], "lead_id": lead["lead_id"],
                         "campaign_id": cid, "customer_id": lead["customer_id"],
                         "won": False})
    return parts, leads, opps, orders


def since_for(campaign):
    """Orders by a campaign's customers count from the campaign's start (or launch)."""
    return campaign.starts_at or campaign.launched_at


def utcnow():
    return dt.datetime.now(dt.UTC)
