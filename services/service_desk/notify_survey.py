"""Survey links mailed to the customer (issue 19), mixed into ServiceDeskService.

When an agent makes a resolved ticket's survey link (``issue_survey_link``), the link is
queued in ``mail_outbox`` in the same transaction, to the first address known:

1. the ticket's complainant contact, when it is an e-mail address;
2. else the e-mail of the customer's primary contact (or its first contact with one),
   asked from customers as the system at that moment (the service desk's copy of a
   customer keeps no contact data, and events never carry any).

No address known → nothing is queued and the ticket page says so (the agent copies the
link instead). The address is never put into an event or a log; once the mail is sent
(or given up) only its masked form stays (``services.common.mail_outbox``).
"""
from sqlalchemy import select

from services.common.errors import NotFound
from services.common.mail import MailSender
from services.common.mail_outbox import is_email, queue_mail
from services.common.service import declared_rpc
from services.common.web.directory import workspace_url
from services.service_desk import repository as repo
from services.service_desk.exceptions import EXPECTED, ServiceUnavailable
from services.service_desk.models import MailOutbox

_rpc = declared_rpc(EXPECTED)
KIND = "survey_link"
KINDS_ZH = {"complaint": "投诉", "inquiry": "咨询", "suggestion": "建议"}


def customer_email(customer):
    """The address of a ``customers.get_customer`` result's primary contact, else of its
    first contact that has one, else None."""
    contacts = (customer or {}).get("contacts") or []
    ordered = sorted(contacts, key=lambda c: not c.get("is_primary"))
    return next((c["email"].strip() for c in ordered if is_email(c.get("email"))), None)


def compose(ticket, url, expires_at, tz_name):
    from zoneinfo import ZoneInfo
    until = expires_at.astimezone(ZoneInfo(tz_name))
    kind = KINDS_ZH.get(ticket.kind, "服务")
    subject = f"请评价我们的服务（{kind}单 #{ticket.id}）"
    body = "\n".join([
        f"{ticket.complainant_name or '您'}，您好：",
        "",
        f"您的{kind}单 #{ticket.id}（{ticket.subject}）已处理完毕。",
        "请花一分钟告诉我们您对这次服务是否满意：",
        "",
        f"  {url}",
        "",
        f"链接 {until:%Y-%m-%d %H:%M} 前有效，仅可提交一次，无需登录。",
        "",
        "—— 客户服务部（自动发送，请勿回复）",
    ])
    return subject, body


def queue(uow, ticket, token, expires_at, to, config):
    """Queue the survey mail in ``uow`` → the masked address, or None if ``to`` is None."""
    if not to:
        return None
    url = workspace_url(config, "service_desk").rstrip("/") + f"/app/survey/{token}"
    subject, body = compose(ticket, url, expires_at, config.get("CRM_TIMEZONE") or
                            "Asia/Shanghai")
    row = queue_mail(uow, MailOutbox, to, subject, body, KIND, ref=f"ticket:{ticket.id}")
    return row.recipient_masked


def mail_status(session, ticket_id):
    """The ticket's latest survey mail → {status, sent_to (masked), queued_at, sent_at}
    or None."""
    row = session.scalar(select(MailOutbox).where(
        MailOutbox.ref == f"ticket:{int(ticket_id)}", MailOutbox.kind == KIND)
        .order_by(MailOutbox.id.desc()).limit(1))
    if row is None:
        return None
    return {"status": row.status, "sent_to": row.recipient_masked,
            "queued_at": row.created_at.isoformat(),
            "sent_at": row.sent_at.isoformat() if row.sent_at else None}


class SurveyMail(MailSender):
    mail_model = MailOutbox

    def _survey_recipient(self, ticket_id, actor):
        """The address the ticket's survey link goes to, or None (read before the unit
        of work: the customers call never runs inside one)."""
        with self.db.read_uow() as ro:
            try:
                t = repo.get_ticket(ro.session, ticket_id, actor, read=True)
            except NotFound:
                return None  # the unit of work answers NotFound itself
            if t.status not in ("resolved", "closed"):
                return None  # the unit of work refuses the link itself
            contact, customer_id = t.complainant_contact, t.customer_id
        if is_email(contact):
            return contact.strip()
        if not customer_id:
            return None
        from services.common.peers import get_or_none
        try:
            customer = get_or_none(self.customers, "get_customer", customer_id,
                                   config=self.config)
        except ServiceUnavailable:
            return None  # the page says no address is known; the link can be copied
        return customer_email(customer)

    @_rpc
    def survey_mail_status(self, ticket_id):
        """The ticket's survey-link mail → {status pending|sent|dead, sent_to (masked),
        queued_at, sent_at} or null when none was queued. NotFound if not yours."""
        actor = self.actor.get()
        with self.db.read_uow() as ro:
            repo.get_ticket(ro.session, ticket_id, actor, read=True)
            return mail_status(ro.session, ticket_id)
