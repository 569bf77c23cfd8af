"""services.contract.paging.CURSOR_LISTS is true: every declared list's RPC takes
``cursor`` and its JSON route documents ``?cursor=`` in the gateway's OpenAPI."""
import importlib
import inspect

import pytest

from services.common.openapi import build_spec
from services.contract.paging import CURSOR_LISTS, takes_cursor

GATEWAYS = {"customers": "CustomersGateway", "sales": "SalesGateway",
            "service_desk": "ServiceDeskGateway", "marketing": "MarketingGateway",
            "reporting": "ReportingGateway"}
SERVICES = {"customers": "CustomersService", "sales": "SalesService",
            "service_desk": "ServiceDeskService", "marketing": "MarketingService",
            "reporting": "ReportingService"}
CASES = [(s, m, route) for s, lists in CURSOR_LISTS.items()
         for m, (_order, route) in lists.items()]


@pytest.mark.parametrize("service,method,route", CASES, ids=[c[1] for c in CASES])
def test_declared_list_takes_a_cursor(service, method, route):
    cls = getattr(importlib.import_module(f"services.{service}.service"), SERVICES[service])
    params = inspect.signature(inspect.unwrap(getattr(cls, method))).parameters
    assert "cursor" in params and params["cursor"].default is None
    gateway = getattr(importlib.import_module(f"services.{service}.gateway"),
                      GATEWAYS[service])
    verb, path = route.split(" ", 1)
    spec = build_spec(gateway, "t")
    names = {p["name"] for p in spec["paths"][path][verb.lower()].get("parameters", [])}
    assert "cursor" in names, (route, names)


def test_undeclared_lists_do_not_claim_a_cursor():
    assert takes_cursor("sales", "list_leads")
    assert not takes_cursor("sales", "forecast")
    assert not takes_cursor("reporting", "list_leads")
