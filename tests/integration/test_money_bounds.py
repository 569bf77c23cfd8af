"""Money bounded by its columns, on SQLite and PostgreSQL alike (issue 16 item 6), and
sales.forecast = reporting's weighted pipeline to the cent (item 7e).

Every money column is Numeric(14, 2): by the definition of NUMERIC(p, s) it holds
at most 999999999999.99 and nothing finer than a cent; quantities are
Numeric(14, 3), capped at 10 000 000 by the contract. Expected values come from
that definition, not from the code. Run with CRM_TEST_DB=sqlite and =postgres.
"""
import random
import time
import uuid

import eventlet
import pytest
import requests

from services.common.auth import mint_token
from services.common.errors import ValidationError
from services.customers.service import CustomersService
from services.marketing.service import MarketingService
from services.reporting.service import ReportingService
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from tests.integration.test_marketing_support import plan
from tests.support import data
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration

MAX = "999999999999.99"  # NUMERIC(14, 2)
OVER = "1000000000000.00"
MANAGER = actor("money-mgr", "manager", "management")


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(SalesGateway, CustomersService, SalesService, MarketingService,
                          ReportingService)


@pytest.fixture
def owner(base, rpc):
    who = actor(f"m-{uuid.uuid4().hex[:8]}")
    with rpc(who) as p:
        customer = p.customers.create_customer(data.customer())
    return who, customer["id"]


def refused(call, *args, **kwargs):
    with pytest.raises(ValidationError) as err:
        call(*args, **kwargs)
    return err.value.fields


def line(quantity, unit_price):
    return {"product": "设备", "quantity": quantity, "unit_price": unit_price}


def eventually(fn, timeout=15):
    deadline = time.time() + timeout
    while True:
        value = fn()
        if value or time.time() > deadline:
            return value
        eventlet.sleep(0.1)


# --- orders ------------------------------------------------------------------------
def test_issue_sample_order_is_a_422_naming_the_line(base, owner, rpc, config):
    who, customer_id = owner
    order = {"customer_id": customer_id, "lines": [line("10000000", "200000.00")]}
    with rpc(who) as p:
        fields = refused(p.sales.create_order, order)
        assert list(fields) == ["lines"] and list(fields["lines"]["0"]) == ["unit_price"]
        assert "2000000000000.00" in fields["lines"]["0"]["unit_price"][0]
        token = mint_token(config, who["id"], "staff", "sales")
        r = requests.post(f"{base}/orders", json=order, timeout=10,
                          headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 422
        body = r.json()
        assert body["error"] == "VALIDATION_ERROR" and body["message"] == "Invalid input"
        assert body["fields"] == {"lines": {"0": {"unit_price": fields["lines"]["0"]
                                                                ["unit_price"]}}}
        assert p.sales.list_orders({"customer_id": customer_id})["total"] == 0


def test_column_max_is_stored_exactly_and_one_cent_more_is_refused(owner, rpc):
    who, customer_id = owner
    with rpc(who) as p:
        one = p.sales.create_order({"customer_id": customer_id, "lines": [line("1", MAX)]})
        assert one["amount"] == MAX and one["lines"][0]["unit_price"] == MAX
        assert p.sales.get_order(one["id"])["amount"] == MAX  # no float on SQLite
        two = p.sales.create_order({"customer_id": customer_id, "lines": [
            line("1", "500000000000.00"), line("1", "499999999999.99")]})
        assert p.sales.get_order(two["id"])["amount"] == MAX
        over = [line("1", "500000000000.00"), line("1", "500000000000.00")]
        fields = refused(p.sales.create_order, {"customer_id": customer_id, "lines": over})
        assert list(fields) == ["amount"] and OVER in fields["amount"][0]
        fields = refused(p.sales.change_order, two["id"], {"lines": over})
        assert list(fields) == ["amount"]
        assert p.sales.get_order(two["id"])["amount"] == MAX
        assert refused(p.sales.create_order, {"customer_id": customer_id,
                                              "lines": [line("1", OVER)]}) == {
            "lines": {"0": {"unit_price": [f"at most {MAX} (the most the column holds)"]}}}
        assert p.sales.list_orders({"customer_id": customer_id})["total"] == 2


@pytest.mark.parametrize("unit_price", [
    "12345678901234567",  # 17 digits: SQLite would store a double and lose the cents
    "123456789012345.67", "1.005", "0.001", "-0.00", "-0.004", "-1.00"])
def test_unit_price_the_column_cannot_hold_is_refused(owner, rpc, unit_price):
    who, customer_id = owner
    with rpc(who) as p:
        fields = refused(p.sales.create_order, {"customer_id": customer_id,
                                                "lines": [line("1", unit_price)]})
        assert list(fields["lines"]["0"]) == ["unit_price"]
        assert p.sales.list_orders({"customer_id": customer_id})["total"] == 0


@pytest.mark.parametrize("quantity", ["0", "-0", "-0.000", "0.0001", "10000000.001"])
def test_quantity_bounded(owner, rpc, quantity):
    who, customer_id = owner
    with rpc(who) as p:
        fields = refused(p.sales.create_order, {"customer_id": customer_id,
                                                "lines": [line(quantity, "1.00")]})
        assert "quantity" in fields["lines"]["0"]


def test_payment_amount_refuses_negative_zero_and_extra_places(owner, rpc):
    who, customer_id = owner
    with rpc(who) as p:
        order = p.sales.create_order({"customer_id": customer_id, "lines": [line("1", "10.00")]})
        for bad in ("-0.00", "-0.004", "0.001", OVER):
            assert "amount" in refused(p.sales.record_payment, order["id"], bad)
        assert p.sales.get_order(order["id"])["paid_total"] == "0.00"


# --- opportunities, customers, campaigns ---------------------------------------------
def test_opportunity_amount_bounded(owner, rpc):
    who, customer_id = owner
    opp = {"customer_id": customer_id, "expected_close_date": "2031-01-15"}
    with rpc(who) as p:
        assert p.sales.create_opportunity(dict(opp, amount=MAX))["amount"] == MAX
        for bad in (OVER, "12345678901234567", "1.001", "-0.00"):
            assert "amount" in refused(p.sales.create_opportunity, dict(opp, amount=bad))
        assert p.sales.list_opportunities({"customer_id": customer_id})["total"] == 1


def test_customer_annual_budget_bounded(base, rpc):
    who = actor(f"m-{uuid.uuid4().hex[:8]}")
    with rpc(who) as p:
        c = p.customers.create_customer(data.customer(annual_budget=MAX))
        assert p.customers.get_customer(c["id"])["annual_budget"] == MAX
        for bad in (OVER, "1.001", "-0.00", "-0.004"):
            assert "annual_budget" in refused(p.customers.create_customer,
                                              data.customer(annual_budget=bad))
            assert "annual_budget" in refused(p.customers.update_customer, c["id"],
                                              {"annual_budget": bad})
        assert p.customers.get_customer(c["id"])["annual_budget"] == MAX


def test_imported_annual_budget_bounded_row_by_row(base, rpc):
    def row(budget):
        c = data.customer()
        return {"name": c["name"], "uscc": c["uscc"], "industry_code": "C35",
                "type": "potential", "owner_id": "m-import", "annual_budget": budget,
                "contact_name": "陈静", "contact_title": "经理",
                "contact_mobile": c["contacts"][0]["mobile"]}
    rows = [row(MAX), row(OVER), row("-0.00"), row("0.001")]
    with rpc(MANAGER) as p:
        res = p.customers.import_customers(rows)
    assert res["created"] == 1, res
    assert [(e["row"], sorted(e["fields"])) for e in res["errors"]] == [
        (2, ["annual_budget"]), (3, ["annual_budget"]), (4, ["annual_budget"])]


def test_campaign_budget_and_cost_bounded(base, rpc):
    mk = actor("mk1", "staff", "marketing")
    with rpc(mk) as p:
        c = p.marketing.create_campaign(plan(budget=MAX, cost=MAX))
        got = p.marketing.get_campaign(c["id"])
        assert (got["budget"], got["cost"]) == (MAX, MAX)
        for field in ("budget", "cost"):
            for bad in (OVER, "0.001", "-0.00"):
                assert field in refused(p.marketing.create_campaign, plan(**{field: bad}))
            assert field in refused(p.marketing.update_campaign, c["id"], {field: OVER})


# --- item 7e: one rounding rule in sales and reporting --------------------------------
def test_forecast_and_weighted_pipeline_agree_on_three_times_1000_05(owner, rpc):
    who, customer_id = owner
    year = random.randint(2200, 2900)  # a month nobody else uses in this session
    period = f"{year}-07"
    with rpc(who) as p:
        for _ in range(3):  # qualify: 30 %
            p.sales.create_opportunity({"customer_id": customer_id, "amount": "1000.05",
                                        "expected_close_date": f"{year}-07-15"})
        forecast = p.sales.forecast(period)
    assert (forecast["count"], forecast["weighted_amount"]) == (3, "900.05")  # 900.045
    with rpc(MANAGER) as m:
        def pipeline():  # reporting applies the three events one by one
            return m.reporting.get_kpis(period, {"owner_id": who["id"]})["weighted_pipeline"]
        eventually(lambda: pipeline() == "900.05")
        assert pipeline() == forecast["weighted_amount"] == "900.05"
