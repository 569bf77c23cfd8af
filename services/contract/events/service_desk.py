"""Payloads of the service_desk service's events.

Tickets carry kind, severity, customer and the assignee at the time of the
event, plus the SLA due times, so reporting computes timeliness from events.
"""
from marshmallow import fields, validate

from services.contract.events import AuditCheckpointPayload, Payload

KINDS = ("inquiry", "complaint", "suggestion")
SEVERITIES = ("critical", "high", "medium", "low")
ROOT_CAUSES = ("product_defect", "service_attitude", "delivery", "billing",
               "usage_question", "other")
Id = fields.Raw


class TicketPayload(Payload):
    ticket_id = Id(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    customer_id = Id(allow_none=True, required=True)
    assignee_id = fields.String(allow_none=True, required=True)
    first_response_due_at = fields.AwareDateTime()
    resolution_due_at = fields.AwareDateTime()


class TicketOpenedPayload(TicketPayload):
    channel = fields.String()
    first_response_due_at = fields.AwareDateTime(required=True)
    resolution_due_at = fields.AwareDateTime(required=True)


class TicketAssignedPayload(TicketPayload):
    previous_assignee_id = fields.String(allow_none=True)


class TicketRespondedPayload(TicketPayload):
    first_response = fields.Boolean(required=True)
    within_sla = fields.Boolean(required=True)


class TicketResolvedPayload(TicketPayload):
    root_cause = fields.String(required=True, validate=validate.OneOf(ROOT_CAUSES))
    within_sla = fields.Boolean(required=True)


class TicketReopenedPayload(TicketPayload):
    resolution_due_at = fields.AwareDateTime(required=True)


class SlaBreachedPayload(TicketPayload):
    clock = fields.String(required=True, validate=validate.OneOf(("first_response",
                                                                  "resolution")))
    due_at = fields.AwareDateTime(required=True)


class SurveyPayload(Payload):
    survey_id = Id(required=True)
    ticket_id = Id(required=True)
    customer_id = Id(allow_none=True)
    assignee_id = fields.String(allow_none=True)
    kind = fields.String(validate=validate.OneOf(KINDS))
    score = fields.Integer(required=True, validate=validate.Range(min=1, max=5))


class CareVisitPayload(Payload):
    task_id = Id(required=True)
    customer_id = Id(required=True)
    kind = fields.String(required=True)
    channel = fields.String()
    satisfaction = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=5))
    visitor_id = fields.String(allow_none=True)


SCHEMAS = {
    "ticket_opened": TicketOpenedPayload,
    "ticket_assigned": TicketAssignedPayload,
    "ticket_responded": TicketRespondedPayload,
    "ticket_resolved": TicketResolvedPayload,
    "ticket_closed": TicketPayload,
    "ticket_reopened": TicketReopenedPayload,
    "ticket_sla_breached": SlaBreachedPayload,
    "survey_answered": SurveyPayload,
    "care_visit_completed": CareVisitPayload,
    "audit_checkpoint": AuditCheckpointPayload,
}
