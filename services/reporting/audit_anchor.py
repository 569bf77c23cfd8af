"""What reporting keeps for the audit trails of the other services and for erasures.

- ``audit_checkpoint`` events: each service's signed chain head, kept here, outside the
  database it protects (``services.common.audit``); ``latest`` gives the newest one to
  ``crm audit verify``.
- ``contact_erased``: the ``campaign_lead_generated`` envelopes of the event log that
  name the erased person lose the name (the facts never held it).
"""
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import select

from services.common import erasure
from services.common.audit import ERASED
from services.contract import AUDIT_SOURCES
from services.reporting.models import AuditCheckpoint, EventLog


class AuditServiceSchema(Schema):
    class Meta:
        unknown = RAISE

    service = fields.String(required=True, validate=validate.OneOf(AUDIT_SOURCES))


def keep(session, data):
    session.add(AuditCheckpoint(service=data["service"], seq=int(data["seq"]),
                                hash=data["hash"], mac=data["mac"], signed_at=data["at"]))


def latest(session, service):
    row = session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.service == service)
                          .order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc())
                          .limit(1)).first()
    if row is None:
        return None
    return {"service": row.service, "seq": row.seq, "hash": row.hash, "mac": row.mac,
            "at": row.signed_at}


def erase(session, data):
    n = 0
    for row in session.scalars(select(EventLog).where(
            EventLog.type == "campaign_lead_generated")):
        env = row.envelope or {}
        payload = env.get("data") or {}
        name = payload.get("contact_name")
        if name and name != ERASED and erasure.matches(data, "name", name) and (
                payload.get("customer_id") in (None, data["customer_id"],
                                               str(data["customer_id"]))):
            row.envelope = dict(env, data=dict(payload, contact_name=ERASED))
            n += 1
    return n
