"""PII scan: after real traffic (including attempts to store ID-card and bank-card
numbers), no database row anywhere holds one, and seeded mobiles appear in no
event (outbox, consumed envelopes), no metrics output and no log record."""
import logging
import re
import sqlite3
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, generate_latest
from stdnum import luhn
from stdnum.cn import ric, uscc

from services.common.config import load_config
from services.common.errors import ValidationError
from services.common.sensitive import scan_text
from services.customers.service import CustomersService
from tests.support import data
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration
_USCC = re.compile(r"(?<![0-9A-Z])[0-9A-Z]{18}(?![0-9A-Z])")


def _ric():
    body = "330106" + "19880417" + "051"
    return body + ric.calc_check_digit(body)


def _card():
    body = "621700" + "0000123456789"[:12]
    return body + luhn.calc_check_digit(body)


def _no_uscc(text):
    """Blank out valid USCCs: an all-digit USCC can be Luhn-valid by chance, and
    the unified social credit code is the one 18-digit identifier we do store."""
    return _USCC.sub(lambda m: "" if uscc.is_valid(m.group(0)) else m.group(0), text)


def _rows(config, services=("customers",)):
    """Every text value of every table of the databases written through the public
    RPC in this test (other modules publish hand-built envelopes straight to the
    bus, bypassing the services' input checks, so their databases are not ours to judge)."""
    for url in (config["DB_URIS"][s] for s in services):
        path = Path(url.replace("sqlite:///", "", 1))
        if not path.exists():
            continue
        conn = sqlite3.connect(path)
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            for row in conn.execute(f'select * from "{table}"'):
                for value in row:
                    if isinstance(value, str):
                        yield path.name, table, value
        conn.close()


def test_no_pii_anywhere_after_traffic(module_services, config, rpc, event_tap, caplog):
    if not config["DB_URIS"]["customers"].startswith("sqlite"):
        pytest.skip("file scan runs on the SQLite pass (the PostgreSQL pass shares the code)")
    module_services(CustomersService)
    tap = event_tap("customers", "#")
    caplog.set_level(logging.DEBUG)  # everything, except what config.yml pins higher
    for name, spec in (load_config().get("LOGGING", {}).get("loggers") or {}).items():
        logging.getLogger(name).setLevel(spec["level"])
    mobiles = []
    with rpc(actor("pii-u1")) as p:
        for _ in range(5):
            d = data.customer()
            mobiles.append(d["contacts"][0]["mobile"])
            c = p.customers.create_customer(d)
            p.customers.update_customer(c["id"], {"needs": "升级"})
        for field, value in (("needs", f"证件 {_ric()}"), ("name", f"卡 {_card()}")):
            with pytest.raises(ValidationError):
                p.customers.create_customer(data.customer(**{field: value}))
            with pytest.raises(ValidationError):
                p.customers.update_customer(c["id"], {field: value})
    tap.wait_for(10)
    hits = [(db, table) for db, table, value in _rows(config) if scan_text(_no_uscc(value))]
    assert hits == []
    # contact data is stored where it belongs (customers.contacts) and nowhere else
    leaks = [(db, table) for db, table, value in _rows(config)
             if any(m in value for m in mobiles) and table != "contacts"]
    assert leaks == [], [(db, t, v[:300]) for db, t, v in _rows(config)
                         if any(m in v for m in mobiles) and t != "contacts"][:3]
    envelopes = str(tap.settle(0.5))
    assert not any(m in envelopes for m in mobiles)
    metrics = generate_latest(REGISTRY).decode()
    assert not any(m in metrics for m in mobiles)
    leaking = sorted({r.name for r in caplog.records
                      if any(m in r.getMessage() for m in mobiles)})
    assert leaking == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert _ric() not in logged and _card() not in logged
