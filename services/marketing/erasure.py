"""``contact_erased``: the erased person's copies in marketing: participants (name,
mobile, email), what was sent to them (body, subject, masked address) and the
``campaign_lead_generated`` events still in the outbox that name them."""
from sqlalchemy import select

from services.common import erasure
from services.common.audit import ERASED
from services.marketing.models import Base, OutreachMessage, Participant

PARTICIPANT_CONTACT = {"contact_name": ("name",), "mobile": ("mobile",), "email": ("email",)}


def erase(session, data):
    changed = erasure.erase_rows(session, Participant, PARTICIPANT_CONTACT, data,
                                 without_customer=True)
    ids = [row.id for row, _ in changed]
    values = {v for _, old in changed for v in old.values()}
    if not ids:
        return changed
    for m in session.scalars(select(OutreachMessage).where(
            OutreachMessage.participant_id.in_(ids))):
        m.body = erasure.scrub_text(m.body, values)
        m.subject = erasure.scrub_text(m.subject, values)
        m.recipient_masked = ERASED
    wanted = {str(i) for i in ids}
    for row in session.scalars(select(Base.Outbox).where(
            Base.Outbox.event_type == "campaign_lead_generated")):
        env = row.envelope or {}
        payload = env.get("data") or {}
        if str(payload.get("participant_id")) in wanted and payload.get("contact_name"):
            row.envelope = dict(env, data=dict(payload, contact_name=ERASED))
    return changed
