"""The mail outbox: e-mails written in the same transaction as the business write that
causes them, sent afterwards by the service's mail timer (``services.common.mail``).

    MailOutbox = declare_mail_outbox(Base)          # in the service's models.py
    ...
    with self.db.uow() as uow:
        follow_up.notified_at = now
        queue_mail(uow, MailOutbox, to=email, subject=..., body=..., kind="follow_up_due",
                   ref=f"follow_up:{follow_up.id}")
        uow.commit()                                # the mail exists iff the write does

A row is ``pending`` until the SMTP server accepted it (``sent``) or the sender gave
up (``dead``: a permanent refusal, or ``MAIL_MAX_ATTEMPTS`` transient failures). Its
``message_id`` is made when the row is written, so a mail sent again after a crash
between "accepted" and "marked sent" carries the same Message-ID and the receiving side
can recognise the repeat. Once a row is final its address and body are dropped: only
the masked address (``recipient_masked``, what pages show) and the subject stay.
"""
import datetime as dt
import re
import uuid

from sqlalchemy import Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from services.common import erasure
from services.common.audit import ERASED
from services.common.identifiers import mask_email
from services.common.models import BigIntId, UTCDateTime, utcnow

STATUSES = ("pending", "sent", "dead")
# deliberately simple: one @, no spaces or angle brackets, a dotted domain
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+"
                    r"[A-Za-z]{2,63}$")
MAX_SUBJECT = 300


def is_email(value):
    """True for one plain address (``name@example.com``), nothing else."""
    return isinstance(value, str) and len(value) <= 254 and bool(_EMAIL.match(value.strip()))


def declare_mail_outbox(Base):
    """The ``mail_outbox`` table on a service's declarative Base → the model."""

    class MailOutbox(Base):
        __tablename__ = "mail_outbox"
        id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
        message_id: Mapped[str] = mapped_column(String(200), unique=True)
        kind: Mapped[str] = mapped_column(String(32))
        ref: Mapped[str | None] = mapped_column(String(64), index=True)
        recipient: Mapped[str | None] = mapped_column(String(254))  # dropped once final
        recipient_masked: Mapped[str] = mapped_column(String(254))
        subject: Mapped[str] = mapped_column(String(MAX_SUBJECT))
        body: Mapped[str | None] = mapped_column(Text)  # dropped once final
        status: Mapped[str] = mapped_column(String(8), default="pending")
        attempts: Mapped[int] = mapped_column(Integer, default=0)
        next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
        last_error: Mapped[str | None] = mapped_column(String(200))
        created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
        sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
        __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)

    Base.MailOutbox = MailOutbox
    return MailOutbox


def new_message_id(service):
    return f"<{uuid.uuid4().hex}.{service}@kehu-crm.mail>"


def queue_mail(uow, model, to, subject, body, kind, ref=None, now=None):
    """Add one mail to the unit of work's transaction (written by its commit) → the row.
    ``to`` must be a plain address (``is_email``); raises ValueError otherwise."""
    if not is_email(to):
        raise ValueError("not an e-mail address")
    now = now or dt.datetime.now(dt.UTC)
    service = getattr(uow._db, "service_name", None) or "crm"
    row = model(message_id=new_message_id(service), kind=kind, ref=ref,
                recipient=to.strip(), recipient_masked=mask_email(to.strip()),
                subject=subject[:MAX_SUBJECT], body=body, status="pending", attempts=0,
                next_attempt_at=now, created_at=now)
    uow.session.add(row)
    uow.session.flush()
    uow.mail_queued = True
    return row


# --- erasure (``contact_erased``, services/common/erasure.py) ----------------------------
ERASED_ERROR = "erased: contact_erased (PIPL), never sent"


def erase_mail(session, model, data, addresses=(), refs=(), final_refs=()):
    """The erased person's mails in ``model`` (a service's ``mail_outbox``), in the
    erasure's own transaction → the ids of the rows changed.

    - A mail not yet final (it still holds its address) addressed to the person — the
      event's e-mail digest matches, or the address is one of ``addresses`` (the person's
      values the service held in clear) — or whose ``ref`` is in ``refs`` (a record the
      erasure changed, e.g. the ticket whose complainant the person was): cancelled —
      ``dead`` with ``last_error`` saying why, address and body dropped, masked address
      ``[erased]``. The sender marks only ``pending`` rows, so it never revives one.
    - A final mail (sent or dead: address and body already dropped) of ``refs`` or
      ``final_refs``: its masked address becomes ``[erased]`` (the subject stays: it
      names no person)."""
    wanted = {a.strip().lower() for a in addresses if isinstance(a, str) and is_email(a)}
    refs, final_refs = set(refs), set(final_refs) | set(refs)
    changed = []
    for row in session.scalars(select(model).where(model.recipient.is_not(None))).all():
        to = row.recipient.strip()
        if not (to.lower() in wanted or erasure.matches(data, "email", to)
                or row.ref in refs):
            continue
        row.status, row.last_error = "dead", ERASED_ERROR
        row.recipient, row.body, row.recipient_masked = None, None, ERASED
        changed.append(row.id)
    final = sorted(final_refs)
    for i in range(0, len(final), 500):
        for row in session.scalars(select(model).where(
                model.ref.in_(final[i:i + 500]), model.recipient.is_(None),
                model.recipient_masked != ERASED)).all():
            row.recipient_masked = ERASED
            changed.append(row.id)
    session.flush()
    return changed


def scrub_mail(session, model, values):
    """Mails not yet sent whose subject or body quote the erased person's ``values``
    (a note naming them, say): those values replaced by ``[erased]`` → ids changed."""
    values = [v for v in values if v]
    changed = []
    if not values:
        return changed
    for row in session.scalars(select(model).where(model.body.is_not(None))).all():
        body = erasure.scrub_text(row.body, values)
        subject = erasure.scrub_text(row.subject, values)
        if (body, subject) != (row.body, row.subject):
            row.body, row.subject = body, subject
            changed.append(row.id)
    session.flush()
    return changed
