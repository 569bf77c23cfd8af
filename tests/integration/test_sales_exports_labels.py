"""Exports of leads, opportunities and orders in the user's page language (issue 18
audit): headers and coded values as the pages say them (来源 / 展会), English for an
English page, the codes with ``?codes=1`` for programs; CSV is UTF-8 with one BOM (as
the customers export) and one charset in its content type. Real gateway, broker, DB."""
import csv
import io
import re
import uuid

import pytest
from openpyxl import load_workbook

from services.common.cli.demo import demo_customers
from services.customers.service import CustomersService
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from tests.support.fixtures import actor
from tests.support.sales_web import Browserless

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(SalesGateway, CustomersService, SalesService)


@pytest.fixture(scope="module")
def world(base, config):
    """One staff member with a trade-show lead (following up), an opportunity in qualify
    and an order just placed."""
    from services.common.cli.rpc_client import cluster
    me = f"ex-{uuid.uuid4().hex[:6]}"
    data = next(demo_customers(1, [me], seed=uuid.uuid4().int % 10**9))
    with cluster(config, actor(me), 15) as p:
        c = p.customers.create_customer(dict(data, type="potential", influence=1))
        lead = p.sales.create_lead({"source": "trade_show", "customer_name": "展会来的公司",
                                    "contact_mobile": "13812345678"})
        opp = p.sales.create_opportunity({"customer_id": c["id"], "amount": "1000.00",
                                          "expected_close_date": "2030-06-30"})
        order = p.sales.create_order({"customer_id": c["id"], "lines": [
            {"product": "=SUM(A1)", "quantity": "1", "unit_price": "10.00"}]})
    return {"me": me, "lead": lead, "opp": opp, "order": order,
            "u": Browserless(base, config, me)}


def _csv(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")  # one BOM, as customers' export
    assert not response.content[3:].startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8")[1:])))


def _sheet_row(content, row_id):
    """(sheet title, the row whose first cell is ``row_id`` as {header: value})."""
    ws = load_workbook(io.BytesIO(content)).active
    rows = list(ws.iter_rows(values_only=True))
    found = next(x for x in rows[1:] if str(x[0]) == str(row_id))
    return ws.title, dict(zip(rows[0], found, strict=True))


def _row(rows, key, value):
    return next(r for r in rows if r[key] == str(value))


def test_csv_in_chinese_by_default(world):
    u = world["u"]
    leads = _csv(u.get("/app/leads/export.csv"))
    row = _row(leads, "编号", world["lead"]["id"])
    assert row["来源"] == "展会" and row["状态"] == "跟进中" and row["公司名称"] == "展会来的公司"
    opps = _csv(u.get("/app/opportunities/export.csv"))
    assert _row(opps, "编号", world["opp"]["id"])["阶段"] == "初步接洽 30%"
    orders = _csv(u.get("/app/orders/export.csv"))
    row = _row(orders, "订单号", world["order"]["id"])
    assert row["状态"] == "已下单" and row["订单金额"] == "10.00"


def test_csv_follows_the_page_language_and_codes_for_programs(world):
    u = world["u"]
    en = _csv(u.get("/app/leads/export.csv?lang=en"))
    row = _row(en, "ID", world["lead"]["id"])
    assert row["Source"] == "Trade show" and row["Status"] == "Following up"
    u.s.cookies.set("crm_lang", "en")  # the language the user chose on the pages
    try:
        row = _row(_csv(u.get("/app/orders/export.csv")), "Order", world["order"]["id"])
        assert row["Status"] == "Placed"
    finally:
        u.s.cookies.set("crm_lang", "zh-CN")
    codes = _csv(u.get("/app/leads/export.csv?codes=1"))
    row = _row(codes, "id", world["lead"]["id"])
    assert row["source"] == "trade_show" and row["status"] == "following_up"
    codes = _csv(u.get("/app/opportunities/export.csv?codes=1"))
    assert _row(codes, "id", world["opp"]["id"])["stage"] == "qualify"


def test_xlsx_in_chinese_and_with_codes(world):
    u = world["u"]
    r = u.get("/app/leads/export.xlsx")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    title, mine = _sheet_row(r.content, world["lead"]["id"])
    assert title == "线索" and mine["来源"] == "展会" and mine["状态"] == "跟进中"
    title, mine = _sheet_row(u.get("/app/orders/export.xlsx?codes=1").content,
                             world["order"]["id"])
    assert title == "orders" and mine["status"] == "placed"
    assert re.fullmatch(r"\d+", str(mine["id"]))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_holds_every_row_across_batches(base, config, monkeypatch, fmt):
    """An export is every row of the list, however many batches it takes (it stopped
    at 10,000 rows without saying so): batches of 5 here, 13 leads of one user, none of
    another user's."""
    from services.common.cli.rpc_client import cluster
    from services.sales import pages_exports
    monkeypatch.setattr(pages_exports, "BATCH", 5)
    me, other = f"exb-{uuid.uuid4().hex[:6]}", f"exo-{uuid.uuid4().hex[:6]}"
    with cluster(config, actor(me), 15) as p:
        mine = {p.sales.create_lead({"source": "website", "customer_name": f"批次公司{i}"})["id"]
                for i in range(13)}
    with cluster(config, actor(other), 15) as p:
        p.sales.create_lead({"source": "website", "customer_name": "别人的公司"})
    r = Browserless(base, config, me).get(f"/app/leads/export.{fmt}?codes=1")
    if fmt == "csv":
        ids = {int(row["id"]) for row in _csv(r)}
    else:
        assert r.status_code == 200
        ws = load_workbook(io.BytesIO(r.content)).active
        ids = {int(x[0]) for x in list(ws.iter_rows(values_only=True))[1:]}
    assert ids == mine
