"""Follow-up notices by e-mail (issue 18), mixed into SalesService.

- Where a salesperson's notices go: ``staff_emails`` (staff id → address), set by the
  person on the 通知设置 page (``set_notify_settings``). The identity token carries no
  address, so this is the one place it is known; a salesperson without one gets no
  mail (My day and the header count still show the follow-up).
- ``notify_due_follow_ups`` (timer, every ``FOLLOW_UP_NOTIFY_INTERVAL`` s, default 60):
  open follow-ups due within the next ``NOTIFY_AHEAD`` (15 minutes) or overdue by at
  most ``NOTIFY_LOOKBACK`` (7 days: setting an address does not mail years of old
  follow-ups), not yet notified, whose owner has an address → ONE mail each to the
  owner. ``notified_at`` is set by a conditional UPDATE in the same transaction as the
  mail row, so two runs (or two processes) never queue two mails for one follow-up.
- Correcting the address (``set_notify_settings`` with a new one): in the same
  transaction, the person's notices still waiting for the old address go to the new
  one, and each open follow-up (due at most ``NOTIFY_LOOKBACK`` ago) whose latest
  notice went ``dead`` — the old address refused, say — gets ONE new notice to the new
  address (its latest notice is then pending, so saving again queues nothing more).
  Clearing the address cancels the notices still waiting (no address stays behind).
- Mails leave through ``services.common.mail`` (the ``send_mail`` timer).
"""
import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select, update

from services.common.errors import ValidationError, validation_error
from services.common.identifiers import mask_email
from services.common.mail import MailSender, mail_timer
from services.common.mail_outbox import is_email, queue_mail
from services.common.sensitive import scan
from services.common.service import declared_rpc
from services.common.web.directory import workspace_url
from services.sales.exceptions import EXPECTED
from services.sales.models import FollowUp, Lead, MailOutbox, Opportunity, StaffEmail

_rpc = declared_rpc(EXPECTED)
NOTIFY_AHEAD = dt.timedelta(minutes=15)
NOTIFY_LOOKBACK = dt.timedelta(days=7)
BATCH = 100
KIND = "follow_up_due"
# the RPC's field message (English, like every service message; the pages show it in
# zh-CN or English through the catalogue's "msg:" entry)
BAD_ADDRESS = "one plain e-mail address, e.g. zhang.san@example.com"


def due_candidates(session, now, limit=BATCH):
    """[(follow_up, opportunity name, customer id, customer name or None, email)] of the
    open, un-notified follow-ups falling due whose owner has an address."""
    stmt = (select(FollowUp, Opportunity.name, Opportunity.customer_id, Lead.customer_name,
                   StaffEmail.email)
            .join(Opportunity, Opportunity.id == FollowUp.opportunity_id)
            .join(StaffEmail, StaffEmail.staff_id == FollowUp.owner_id)
            .outerjoin(Lead, Lead.id == Opportunity.lead_id)
            .where(FollowUp.status == "open", FollowUp.notified_at.is_(None),
                   FollowUp.due_at <= now + NOTIFY_AHEAD,
                   FollowUp.due_at >= now - NOTIFY_LOOKBACK)
            .order_by(FollowUp.due_at, FollowUp.id).limit(limit))
    return session.execute(stmt).all()


def owner_notices(session, owner, now):
    """[(follow_up, opportunity name, customer id, customer name, latest notice row)] of
    ``owner``'s follow-ups already notified and due at most ``NOTIFY_LOOKBACK`` ago."""
    stmt = (select(FollowUp, Opportunity.name, Opportunity.customer_id, Lead.customer_name)
            .join(Opportunity, Opportunity.id == FollowUp.opportunity_id)
            .outerjoin(Lead, Lead.id == Opportunity.lead_id)
            .where(FollowUp.owner_id == owner, FollowUp.notified_at.is_not(None),
                   FollowUp.due_at >= now - NOTIFY_LOOKBACK)
            .order_by(FollowUp.due_at, FollowUp.id))
    found = session.execute(stmt).all()
    latest = {}
    refs = [f"follow_up:{fu.id}" for fu, *_ in found]
    for i in range(0, len(refs), 500):
        for mail in session.scalars(select(MailOutbox).where(
                MailOutbox.kind == KIND, MailOutbox.ref.in_(refs[i:i + 500]))
                .order_by(MailOutbox.id)):
            latest[mail.ref] = mail  # the newest wins
    return [(fu, name, cid, cname, latest.get(f"follow_up:{fu.id}"))
            for fu, name, cid, cname in found]


def compose(fu, opp_name, customer_id, customer_name, now, tz_name, base_url):
    """(subject, body) in zh-CN: the follow-up, customer, opportunity, due time in the
    workspace's time zone and the opportunity page's link."""
    due_local = fu.due_at.astimezone(ZoneInfo(tz_name))
    due_text = f"{due_local:%Y-%m-%d %H:%M}（{tz_name}）"
    overdue = fu.due_at < now
    state = "已逾期" if overdue else "即将到期"
    customer = customer_name or f"客户编号 {customer_id}"
    link = f"{base_url.rstrip('/')}/app/opportunities/{fu.opportunity_id}"
    subject = f"【跟进提醒】{opp_name} · {due_local:%m-%d %H:%M} {state}"
    lines = [
        "您好，",
        "",
        f"您有一项跟进{state}：",
        "",
        f"  跟进事项：{fu.note or '（未填写备注）'}",
        f"  客户：{customer}",
        f"  商机：{opp_name}",
        f"  到期时间：{due_text}",
        "",
        f"打开商机页面完成跟进：{link}",
        "",
        "—— 客户关系管理系统（自动发送，请勿回复）",
    ]
    return subject, "\n".join(lines)


class FollowUpNotices(MailSender):
    mail_model = MailOutbox

    @_rpc
    def get_notify_settings(self):
        """The caller's notice settings → {email (yours, or null), email_masked}."""
        actor = self.actor.get()
        with self.db.read_uow() as ro:
            row = ro.session.get(StaffEmail, str(actor.id)) if actor.id else None
            email = row.email if row else None
        return {"email": email, "email_masked": mask_email(email) if email else None}

    @_rpc
    def set_notify_settings(self, email):
        """Set (or, with an empty value, clear) where the caller's follow-up notices go
        → the settings and ``remailed``: how many notices that had gone dead were queued
        again to the new address. ValidationError ``email``: not one plain address."""
        actor = self.actor.get()
        if not actor.id:
            raise validation_error({"email": "only a signed-in person has notice settings"})
        value = (email or "").strip() if isinstance(email, str) or email is None else None
        if value is None or (value and not is_email(value)):
            raise validation_error({"email": BAD_ADDRESS})
        if scan({"email": value}):  # an ID-card number as the local part is still one
            raise ValidationError("Sensitive data is not allowed",
                                  {"email": ["sensitive data is not allowed"]},
                                  code="SENSITIVE_DATA")
        now, remailed = dt.datetime.now(dt.UTC), 0
        with self.db.uow() as uow:
            row = uow.session.get(StaffEmail, str(actor.id))
            before = row.email if row is not None else None
            if not value:
                if row is not None:
                    uow.session.delete(row)
            elif row is None:
                uow.session.add(StaffEmail(staff_id=str(actor.id), email=value,
                                           updated_at=now))
            else:
                row.email, row.updated_at = value, now
            if value != before:
                remailed = self._readdress(uow, str(actor.id), before, value or None, now)
            uow.commit()
        return {"email": value or None, "email_masked": mask_email(value) if value else None,
                "remailed": remailed}

    def _readdress(self, uow, owner, before, after, now):
        """The owner's address changed from ``before`` to ``after`` (None: cleared), in
        ``uow``: their waiting notices follow it; open follow-ups whose latest notice is
        dead get one new notice to ``after``. → how many were queued anew."""
        rows = owner_notices(uow.session, owner, now)
        for *_, mail in rows:
            if mail is not None and mail.status == "pending" and before and \
                    (mail.recipient or "").strip().lower() == before.strip().lower():
                if after:
                    mail.recipient, mail.recipient_masked = after, mask_email(after)
                else:
                    mail.status, mail.last_error = "dead", "address removed by its owner"
                    mail.recipient, mail.body = None, None
        if not after:
            return 0
        tz = self.config.get("CRM_TIMEZONE") or "Asia/Shanghai"
        base = workspace_url(self.config, "sales")
        queued = 0
        for fu, name, cid, cname, mail in rows:
            if fu.status != "open" or mail is None or mail.status != "dead":
                continue
            subject, body = compose(fu, name, cid, cname, now, tz, base)
            queue_mail(uow, MailOutbox, after, subject, body, KIND,
                       ref=f"follow_up:{fu.id}", now=now)
            queued += 1
        return queued

    @mail_timer(60, "FOLLOW_UP_NOTIFY_INTERVAL")
    def notify_due_follow_ups(self):
        return self._notify_due(dt.datetime.now(dt.UTC))

    def _notify_due(self, now):
        """Queue the mails of follow-ups falling due at ``now`` → how many."""
        tz = self.config.get("CRM_TIMEZONE") or "Asia/Shanghai"
        base = workspace_url(self.config, "sales")
        queued = 0
        with self.db.uow() as uow:
            s = uow.session
            for fu, name, cid, cname, email in due_candidates(s, now):
                claimed = s.execute(update(FollowUp).where(and_(
                    FollowUp.id == fu.id, FollowUp.notified_at.is_(None),
                    FollowUp.status == "open")).values(notified_at=now)
                    .execution_options(synchronize_session=False)).rowcount
                if claimed != 1:
                    continue  # another run got there first
                subject, body = compose(fu, name, cid, cname, now, tz, base)
                queue_mail(uow, MailOutbox, email, subject, body, KIND,
                           ref=f"follow_up:{fu.id}", now=now)
                queued += 1
            uow.commit()
        return queued
