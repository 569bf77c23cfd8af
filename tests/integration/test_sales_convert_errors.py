"""Lead conversion reports every field error at once (issue 18 audit): the opportunity's
own fields and the new customer's (checked by customers.check_customer without writing),
the customer's named as the conversion form names them; nothing is written at either
service. Over the real broker (RPC) and in the page (each message next to its field)."""
import re
import uuid

import pytest

from services.common.cli.demo import demo_customers
from services.common.errors import ValidationError
from services.customers.service import CustomersService
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from tests.support.fixtures import actor
from tests.support.sales_web import Browserless
from tests.support.standards import is_uscc, uscc_check_char

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(SalesGateway, CustomersService, SalesService)


def _prospect_lead(p):
    return p.sales.create_lead({
        "source": "website", "customer_name": f"两轮公司{uuid.uuid4().hex[:6]}",
        "contact_name": "王经理", "contact_mobile": "13812345678", "need": "新产线",
        "region": "上海", "industry_code": "C35"})


def _nothing_written(p, lead_id):
    assert p.sales.get_lead(lead_id)["status"] == "following_up"
    assert p.sales.list_opportunities()["total"] == 0
    assert p.customers.list_customers()["total"] == 0


def test_rpc_reports_opportunity_and_customer_fields_together(base, rpc, event_tap):
    me = f"cv-{uuid.uuid4().hex[:6]}"
    created = event_tap("customers", "customer_created")
    with rpc(actor(me)) as p:
        lead = _prospect_lead(p)
        with pytest.raises(ValidationError) as err:
            p.sales.convert_lead(lead["id"], {
                "amount": "-5", "expected_close_date": "not a date",
                "customer": {"uscc": "123", "contact": {"title": "采购经理",
                                                         "mobile": "12345"}}})
        fields = err.value.fields
        # both sets in one answer, the customer's named as the form names them
        assert {"amount", "expected_close_date", "customer.uscc",
                "customer.contact.mobile"} <= set(fields), fields
        assert not any(k.startswith("customer.contacts") for k in fields), fields
        _nothing_written(p, lead["id"])
        # the opportunity's fields alone wrong, the customer's right: only the former
        uscc = next(demo_customers(1, [me], seed=uuid.uuid4().int % 10**9))["uscc"]
        with pytest.raises(ValidationError) as err:
            p.sales.convert_lead(lead["id"], {
                "amount": "x", "expected_close_date": "2030-06-30",
                "customer": {"uscc": uscc, "contact": {"title": "采购经理"}}})
        assert set(err.value.fields) == {"amount"}, err.value.fields
        # the customer's fields alone wrong (the opportunity right): customers says so
        with pytest.raises(ValidationError) as err:
            p.sales.convert_lead(lead["id"], {
                "amount": "100.00", "expected_close_date": "2030-06-30",
                "customer": {"uscc": "123", "contact": {"title": "采购经理"}}})
        assert set(err.value.fields) == {"customer.uscc"}, err.value.fields
        _nothing_written(p, lead["id"])
        # then it goes through
        out = p.sales.convert_lead(lead["id"], {
            "amount": "100.00", "expected_close_date": "2030-06-30",
            "customer": {"uscc": uscc, "contact": {"title": "采购经理"}}})
        assert out["lead"]["status"] == "converted"
    created.settle(0.5)
    assert len(created.events) == 1  # only the last attempt made a customer


def test_check_customer_writes_nothing(base, rpc):
    me = f"cc-{uuid.uuid4().hex[:6]}"
    data = next(demo_customers(1, [me], seed=uuid.uuid4().int % 10**9))
    with rpc(actor(me)) as p:
        assert p.customers.check_customer(dict(data, type="potential")) == {"valid": True}
        with pytest.raises(ValidationError) as err:
            p.customers.check_customer(dict(data, uscc="123"))
        assert "uscc" in err.value.fields
        assert p.customers.list_customers()["total"] == 0


def test_page_shows_both_sets_next_to_their_fields(base, config, rpc):
    me = f"cp-{uuid.uuid4().hex[:6]}"
    with rpc(actor(me)) as p:
        lead = _prospect_lead(p)
    u = Browserless(base, config, me)
    # deliberately a bad USCC: only its check character is wrong (the reference gives U)
    bad_uscc = "91310000000000000X"
    assert not is_uscc(bad_uscc) and is_uscc(bad_uscc[:17] + uscc_check_char(bad_uscc[:17]))
    r = u.post(f"/app/leads/{lead['id']}/convert",
               {"amount": "abc", "expected_close_date": "2030-06-30",
                "customer.uscc": bad_uscc, "customer.contact.title": "采购经理",
                "customer.industry_code": "C35"}, token_from=f"/app/leads/{lead['id']}")
    assert r.status_code == 422
    for fid in ("f-amount", "f-customer-uscc"):
        block = re.search(r'<div class="field field--error">\s*<label for="' + fid
                          + r'">.*?</div>', r.text, re.S)
        assert block and 'class="field-error"' in block.group(0), (fid, r.text[-3000:])
    assert f'value="{bad_uscc}"' in r.text  # what the user typed stays
    assert "统一社会信用代码校验位不正确" in r.text  # customers' message, in zh-CN
    with rpc(actor(me)) as p:
        _nothing_written(p, lead["id"])


def test_page_names_customer_fields_the_form_has_no_input_for(base, config, rpc):
    """The lead's own mobile goes to the new customer's contact: customers' message about
    it is shown in the customer block with its label, in zh-CN, next to the other errors."""
    me = f"cm-{uuid.uuid4().hex[:6]}"
    with rpc(actor(me)) as p:
        lead = _prospect_lead(p)
    u = Browserless(base, config, me)
    r = u.post(f"/app/leads/{lead['id']}/convert",
               {"amount": "", "expected_close_date": "2030-06-30",
                "customer.uscc": "123", "customer.contact.mobile": "12345",
                "customer.contact.title": "采购经理", "customer.industry_code": "C35"},
               token_from=f"/app/leads/{lead['id']}")
    assert r.status_code == 422
    block = re.search(r'<fieldset id="customer-fields">.*?</fieldset>', r.text, re.S).group(0)
    line = re.search(r'<p class="field-error" data-field="customer.contact.mobile">(.*?)</p>',
                     block, re.S).group(1)
    assert line.startswith("手机: ") and "11 位" in line, line
    assert 'id="f-amount"' in r.text and "统一社会信用代码应为 18 位" in r.text
