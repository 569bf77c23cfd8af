"""Output schema of ``sales.channel_analysis`` (definitions in ``services/sales/channels.py``)."""
from marshmallow import Schema, fields

from services.sales.schemas import ExternalId

_MONEY = {"places": 2, "as_string": True}


class ChannelRowSchema(Schema):
    source = fields.String(metadata={"description": "lead source (by_source rows)"})
    campaign_id = ExternalId(metadata={"description": "campaign id (by_campaign rows)"})
    campaign_name = fields.String(allow_none=True, metadata={
        "description": "the campaign's theme (by_campaign rows; null if marketing does "
                       "not know it or is slow)"})
    leads = fields.Integer(metadata={"description": "leads created in the period"})
    converted = fields.Integer(metadata={"description": "of those, converted (up to now)"})
    won = fields.Integer()
    lost = fields.Integer()
    won_amount = fields.Decimal(**_MONEY)
    conversion_rate = fields.Decimal(places=4, as_string=True, allow_none=True,
                                     metadata={"description": "converted / leads"})
    win_rate = fields.Decimal(places=4, as_string=True, allow_none=True,
                              metadata={"description": "won / (won + lost)"})
    avg_cycle_days = fields.Decimal(places=2, as_string=True, allow_none=True,
                                    metadata={"description": "lead created → won, days"})


class ChannelAnalysisOutSchema(Schema):
    period = fields.String()
    from_date = fields.Date()
    to_date = fields.Date()
    timezone = fields.String()
    by_source = fields.List(fields.Nested(ChannelRowSchema))
    by_campaign = fields.List(fields.Nested(ChannelRowSchema))
    total = fields.Nested(ChannelRowSchema)
