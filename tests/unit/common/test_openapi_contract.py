"""The generated OpenAPI documents say what the gateways answer (checked by
``make fuzz``; these pin the cases it found)."""
from openapi_spec_validator import validate

from services.common.openapi import build_spec
from services.marketing.gateway import MarketingGateway
from services.reporting.gateway import ReportingGateway
from services.service_desk.gateway import ServiceDeskGateway


def test_money_is_documented_as_a_decimal_string():
    spec = build_spec(MarketingGateway, "marketing")
    validate(spec)
    cost = spec["components"]["schemas"]["CampaignOut"]["properties"]["cost"]
    assert cost["type"] == "string" and cost["format"] == "decimal"


def test_lists_are_arrays_and_pages_say_their_media():
    desk = build_spec(ServiceDeskGateway, "desk")
    agents = desk["paths"]["/agents"]["get"]["responses"]["200"]["content"]
    assert agents["application/json"]["schema"]["type"] == "array"
    spec = build_spec(ReportingGateway, "reporting")
    validate(spec)
    dash = spec["paths"]["/dashboard"]["get"]["responses"]
    assert set(dash["200"]["content"]) == {"text/html"}
    assert set(dash["401"]["content"]) == {"text/html"}  # the page reads the token itself
    csv = spec["paths"]["/kpis.csv"]["get"]["responses"]
    assert set(csv["200"]["content"]) == {"text/csv"}
    assert set(csv["422"]["content"]) == {"application/json"}
    assert "401" not in spec["paths"]["/health"]["get"]["responses"]
