"""Schemas of the root-cause report, improvement actions, survey links, the customer
picker and the public FAQ/survey answers."""
from marshmallow import Schema, fields, validate

from services.service_desk.domain import ROOT_CAUSES
from services.service_desk.schemas import DEPARTMENTS, Strict


class ImprovementInSchema(Strict):
    root_cause = fields.String(required=True, validate=validate.OneOf(ROOT_CAUSES))
    action = fields.String(required=True, validate=validate.Length(min=2, max=4000))
    ticket_id = fields.Integer(allow_none=True, validate=validate.Range(min=1))
    department = fields.String(allow_none=True, validate=validate.OneOf(DEPARTMENTS))


class ImprovementOutSchema(Schema):
    id = fields.Integer()
    root_cause = fields.String()
    ticket_id = fields.Integer(allow_none=True)
    action = fields.String()
    department = fields.String(allow_none=True)
    created_by = fields.String()
    created_at = fields.AwareDateTime()


class RootCauseRowSchema(Schema):
    root_cause = fields.String()
    label = fields.String()
    count = fields.Integer()
    share = fields.Float()
    actions = fields.List(fields.Nested(ImprovementOutSchema))


class RootCausesOutSchema(Schema):
    period = fields.String()
    first_day = fields.Date()
    last_day = fields.Date()
    total = fields.Integer()
    items = fields.List(fields.Nested(RootCauseRowSchema))


class SurveyLinkOutSchema(Schema):
    ticket_id = fields.Integer()
    token = fields.String()
    expires_at = fields.AwareDateTime()
    path = fields.String()
    mailed_to = fields.String(allow_none=True)  # the masked address the link was mailed to


class SurveyLinkInSchema(Strict):
    days = fields.Integer(load_default=14, validate=validate.Range(min=1, max=60))


class PublicSurveyInSchema(Strict):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(allow_none=True, validate=validate.Length(max=2000))


class PublicSurveyOutSchema(Schema):
    state = fields.String()  # open | used | expired
    ticket_id = fields.Integer()
    kind = fields.String()
    resolved_on = fields.Date(allow_none=True)


class CustomerPickSchema(Schema):
    id = fields.Integer()
    name = fields.String(allow_none=True)
    contact = fields.String(allow_none=True)  # primary contact, mobile/email masked
    tier = fields.String(allow_none=True)
    type = fields.String(allow_none=True)


class CustomerSearchSchema(Strict):
    q = fields.String(required=True, validate=validate.Length(min=1, max=100))
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


class PublicFaqSchema(Schema):
    """An FAQ entry as customers see it: no author, no drafts, no counters."""

    id = fields.Integer()
    question = fields.String()
    answer = fields.String()
    category = fields.String()
    published_at = fields.AwareDateTime(allow_none=True)


class PublicFaqResultsSchema(Schema):
    query = fields.String()
    items = fields.List(fields.Nested(PublicFaqSchema))
    total = fields.Integer()
