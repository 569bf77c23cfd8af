"""The sales workspace over HTTP (real gateway, broker and services): each page renders,
forms write through the same RPCs, bad input comes back next to the fields."""
import re
import uuid

import pytest

from services.customers.service import CustomersService
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from tests.support.sales_web import Browserless

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(SalesGateway, CustomersService, SalesService)


def test_my_day_is_the_landing_page_and_lists_render(base, config):
    u = Browserless(base, config, "u1")
    r = u.get("/", follow=False)
    assert r.status_code == 303 and r.headers["Location"].endswith("/app/my-day")
    for path in ("/app/my-day", "/app/leads", "/app/leads/new"):
        r = u.get(path)
        assert r.status_code == 200, (path, r.text[-2000:])
        assert "我的一天" in r.text


def test_create_lead_with_bad_input_keeps_values_and_writes_nothing(base, config):
    u = Browserless(base, config, f"pg-{uuid.uuid4().hex[:6]}")
    name = f"页面公司{uuid.uuid4().hex[:6]}"
    r = u.post("/app/leads/new", {"source": "website", "customer_name": name,
                                  "contact_mobile": "12345", "contact_email": "nope"},
               token_from="/app/leads/new")
    assert r.status_code == 422
    assert 'id="f-contact_mobile"' in r.text and 'field--error' in r.text
    assert f'value="{name}"' in r.text
    assert u.get(f"/app/leads?q={name}").text.count("data-lead=") == 0
    r = u.post("/app/leads/new", {"source": "website", "customer_name": name,
                                  "contact_mobile": "13800001111"}, token_from="/app/leads/new")
    assert r.status_code == 303
    lead_id = int(re.search(r"/app/leads/(\d+)", r.headers["Location"]).group(1))
    page = u.get(f"/app/leads/{lead_id}").text
    assert name in page and "13800001111" in page
