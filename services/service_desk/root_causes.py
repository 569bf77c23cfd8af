"""Root-cause analysis of resolved complaints and the improvement actions recorded
against them (policy 003 §四(三)5: analyse the causes, propose improvements)."""
from sqlalchemy import and_, func, or_, select

from services.service_desk.domain import ROOT_CAUSES
from services.service_desk.models import ImprovementAction, Ticket

LABELS_ZH = {"product_defect": "产品缺陷", "service_attitude": "服务态度",
             "delivery": "交付物流", "billing": "账单费用", "usage_question": "使用问题",
             "other": "其他"}


def _counted(start, end):
    """Complaints resolved (still resolved or closed) in [start, end)."""
    return and_(Ticket.kind == "complaint", Ticket.resolved_at >= start,
                Ticket.resolved_at < end, Ticket.root_cause.is_not(None))


def report(session, start, end):
    """{root_cause: count} plus the actions: those tied to a counted complaint, and
    those recorded in the period without a ticket."""
    counts = dict(session.execute(select(Ticket.root_cause, func.count()).where(
        _counted(start, end)).group_by(Ticket.root_cause)).all())
    counted_ids = select(Ticket.id).where(_counted(start, end))
    actions = session.scalars(select(ImprovementAction).where(or_(
        ImprovementAction.ticket_id.in_(counted_ids),
        and_(ImprovementAction.ticket_id.is_(None), ImprovementAction.created_at >= start,
             ImprovementAction.created_at < end))).order_by(ImprovementAction.id)).all()
    total = sum(counts.values())
    items = []
    for cause in ROOT_CAUSES:
        n = counts.get(cause, 0)
        mine = [action_out(a) for a in actions if a.root_cause == cause]
        items.append({"root_cause": cause, "label": LABELS_ZH.get(cause, cause), "count": n,
                      "share": round(n / total, 4) if total else 0.0, "actions": mine})
    items.sort(key=lambda i: (-i["count"], ROOT_CAUSES.index(i["root_cause"])))
    return total, items


def record(uow, actor, data, ticket, when):
    action = ImprovementAction(root_cause=data["root_cause"],
                               ticket_id=ticket.id if ticket else None,
                               action=data["action"], department=data.get("department"),
                               created_by=actor.label, created_at=when)
    uow.session.add(action)
    uow.session.flush()
    return action


def action_out(a):
    return {"id": a.id, "root_cause": a.root_cause, "ticket_id": a.ticket_id,
            "action": a.action, "department": a.department, "created_by": a.created_by,
            "created_at": a.created_at}
