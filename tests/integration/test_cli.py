"""The `crm` CLI against the real bus: import with per-row errors, dlq list, token."""
import csv

import pytest
from typer.testing import CliRunner

from services.common.auth import verify_token
from services.common.cli import app
from services.customers.service import CustomersService
from tests.support import data

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_import_customers_csv_reports_bad_rows(module_services, config, tmp_path, monkeypatch,
                                               rpc):
    module_services(CustomersService)
    monkeypatch.setenv("AMQP_URI", config["AMQP_URI"])
    header = ["name", "uscc", "industry_code", "type", "region", "tags", "contact_name",
              "contact_title", "contact_mobile", "contact_email"]
    rows = []
    for i in range(25):
        d = data.customer()
        rows.append([d["name"], d["uscc"], "C35", "potential", "上海", "导入;展会获取",
                     "陈静", "经理", f"1380000{i:04d}", ""])
    rows[3][1] = "not-a-uscc"
    rows[7][8] = "12345"
    src = tmp_path / "customers.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header] + rows)
    result = runner.invoke(app, ["import", "customers", str(src), "--chunk", "10"])
    assert result.exit_code == 2, result.output  # some rows were rejected
    assert "created 23, updated 0, rejected 2" in result.output
    report = list(csv.DictReader((tmp_path / "customers.errors.csv").open(encoding="utf-8")))
    assert [(r["row"], r["field"]) for r in report] == [("4", "uscc"), ("8", "contact_mobile")]
    with rpc() as p:
        assert p.customers.list_customers({"q": rows[0][1]})["total"] == 1
    again = runner.invoke(app, ["import", "customers", str(src)])
    assert "created 0, updated 23, rejected 2" in again.output


def test_dlq_list_and_token(config, monkeypatch):
    monkeypatch.setenv("AMQP_URI", config["AMQP_URI"])
    result = runner.invoke(app, ["dlq", "list"])
    assert result.exit_code == 0, result.output
    out = runner.invoke(app, ["token", "--user", "u9", "--role", "manager"])
    assert verify_token(config, out.output.strip())["roles"] == ["manager"]
