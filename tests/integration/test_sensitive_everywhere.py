"""Resident IDs and bank cards are refused by every service's write paths, over
real RabbitMQ and a real DB, with ``SENSITIVE_DATA`` naming the field, and
nothing is written (issue 16 items 1 and 2). Mobiles typed in any digit script
are stored as ASCII (item 5).

The numbers come from GB 11643-1999's published sample, the issue's samples and
tests/support/standards.py (written from the standards), never from the code or
the library under test.
"""
import uuid

import pytest

from services.common.errors import ValidationError
from services.customers.service import CustomersService
from services.marketing.service import MarketingService
from services.sales.service import SalesService
from services.service_desk.service import ServiceDeskService
from tests.support import data
from tests.support import standards as ref
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration

OWNER = actor(f"pii-{uuid.uuid4().hex[:6]}", "staff", "sales")
MANAGER = actor("pii-manager", "manager", "management")
DESK = actor(f"pii-desk-{uuid.uuid4().hex[:6]}", "staff", "service")
MARKETER = actor("pii-mk", "manager", "marketing")
ISSUE_IDS = ["110101199003074477", "440308199901010012"]


def _card():
    card = ref.bank_card(length=16)
    assert ref.luhn_valid(card) and not ref.is_resident_id(card)
    return card


# Every typed form the scanner must see through (checked against the reference here).
FORMS = {
    "published_sample": ref.RIC_SAMPLE,
    "lowercase_x": ref.RIC_SAMPLE.lower(),
    "grouped_space": "1101 0519 4912 3100 2X",
    "grouped_nbsp": ref.grouped(ref.RIC_SAMPLE, "\u00a0"),
    "grouped_ideographic_space": ref.grouped(ref.RIC_SAMPLE, "\u3000"),
    "dotted": "110105.19491231.002X",
    "hyphenated": "110105-19491231-002X",
    "full_width": ref.fullwidth(ref.RIC_SAMPLE),
    "arabic_indic": "".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in ref.RIC_SAMPLE),
    "first_generation_15": "110105491231002",
    "x_check_random": ref.resident_id_x(),
    "bank_card": _card(),
    "bank_card_grouped_full_width": ref.grouped(ref.fullwidth(_card()), "\u3000"),
}


def test_the_forms_are_what_the_standards_say():
    plain = {k: ref.RIC_SAMPLE for k in ("grouped_space", "dotted", "hyphenated")}
    for name, value in plain.items():
        assert "".join(c for c in FORMS[name] if c.isalnum()) == value
    assert ref.is_resident_id(ref.RIC_SAMPLE) and ref.is_resident_id(FORMS["x_check_random"])
    assert ref.is_resident_id(FORMS["first_generation_15"])
    assert all(ref.is_resident_id(i) for i in ISSUE_IDS)


@pytest.fixture(scope="module", autouse=True)
def _services(module_services):
    module_services(CustomersService, SalesService, ServiceDeskService, MarketingService)


def _refused(call, field):
    with pytest.raises(ValidationError) as err:
        call()
    assert err.value.code == "SENSITIVE_DATA", err.value
    assert field in err.value.fields, err.value.fields
    assert "SENSITIVE_DATA" in str(err.value)


def _total(proxy):
    return proxy.customers.list_customers({}, page_size=1)["total"]


# --- the issue's own samples ---------------------------------------------------

def test_create_customer_with_the_published_sample_is_refused_and_writes_nothing(rpc):
    with rpc(MANAGER) as p:
        before = _total(p)
        for needs in ("法人身份证 11010519491231002X", "法人身份证 11010519491231002x"):
            _refused(lambda needs=needs: p.customers.create_customer(data.customer(needs=needs)),
                     "needs")
        assert _total(p) == before


def test_update_with_an_id_leaves_record_and_history_untouched(rpc):
    with rpc(OWNER) as p:
        c = p.customers.get_customer(p.customers.create_customer(data.customer(needs="扩产"))["id"])
        history = p.customers.get_history(c["id"])
        for form in FORMS.values():
            _refused(lambda form=form: p.customers.update_customer(
                c["id"], {"needs": f"法人身份证 {form}", "version": c["version"]}), "needs")
        _refused(lambda: p.customers.add_tags(c["id"], [ref.RIC_SAMPLE]), "tags.0")
        _refused(lambda: p.customers.mark_lost(c["id"], "price", f"卡号 {FORMS['bank_card']}"),
                 "note")
        assert p.customers.get_customer(c["id"]) == c
        assert p.customers.get_history(c["id"]) == history


def test_ticket_description_with_the_issue_ids_is_refused(rpc):
    with rpc(MANAGER) as p:
        customer = p.customers.create_customer(data.customer())
    with rpc(DESK) as p:
        before = p.service_desk.list_tickets({}, 1, 1)["total"]
        ticket = {"kind": "complaint", "severity": "high", "customer_id": customer["id"],
                  "complainant_name": "王女士", "complainant_contact": "13812345678",
                  "channel": "phone", "subject": "设备故障"}
        for description in (f"客户身份证 {ISSUE_IDS[0]}", f"联系人 {ISSUE_IDS[1]} 请核实",
                            f"{ISSUE_IDS[0]} 与 {ISSUE_IDS[1]}"):
            _refused(lambda d=description: p.service_desk.open_ticket(
                dict(ticket, description=d)), "description")
        assert p.service_desk.list_tickets({}, 1, 1)["total"] == before


# --- every typed form, in every service's text fields ---------------------------

@pytest.mark.parametrize("form", sorted(FORMS))
def test_customers_create_and_nested_contacts(rpc, form):
    value = FORMS[form]
    with rpc(MANAGER) as p:
        before = _total(p)
        for field, over in (("name", {"name": f"公司{value}"}), ("needs", {"needs": value}),
                            ("tags.0", {"tags": [value]})):
            _refused(lambda over=over: p.customers.create_customer(data.customer(**over)), field)
        bad = data.customer()
        bad["contacts"][0]["title"] = f"经理 {value}"
        _refused(lambda: p.customers.create_customer(bad), "contacts.0.title")
        assert _total(p) == before


def test_import_rows_are_scanned_and_not_written(rpc):
    with rpc(MANAGER) as p:
        before = _total(p)
        rows = [{**{k: v for k, v in data.customer().items() if k not in ("contacts", "tags")},
                 "contact_name": "王芳", "contact_mobile": "13900139000",
                 "needs": f"法人身份证 {form}"} for form in FORMS.values()]
        result = p.customers.import_customers(rows)
        assert result["created"] == 0 and result["updated"] == 0
        assert [e["row"] for e in result["errors"]] == list(range(1, len(rows) + 1))
        assert all("needs" in e["fields"] for e in result["errors"])
        assert _total(p) == before


@pytest.mark.parametrize("form", ["published_sample", "grouped_ideographic_space", "full_width",
                                  "first_generation_15", "bank_card_grouped_full_width"])
def test_sales_service_desk_marketing_text_fields(rpc, form):
    value = FORMS[form]
    with rpc(MANAGER) as p:
        customer = p.customers.create_customer(data.customer())
        opp = p.sales.create_opportunity({"customer_id": customer["id"], "amount": "1000.00",
                                          "expected_close_date": "2099-12-15"})
        leads = p.sales.list_leads({}, 1, 1)["total"]
        _refused(lambda: p.sales.create_lead({"source": "website", "customer_name": "测试公司",
                                              "contact_name": "王经理", "need": value}), "need")
        _refused(lambda: p.sales.create_opportunity({"customer_id": customer["id"],
                                                     "amount": "1000.00",
                                                     "expected_close_date": "2099-12-15",
                                                     "background": value}), "background")
        _refused(lambda: p.sales.log_activity(opp["id"], "phone", f"客户说 {value}"), "summary")
        _refused(lambda: p.sales.schedule_follow_up(opp["id"], "2099-01-01T09:00:00+08:00",
                                                    value), "note")
        assert p.sales.list_leads({}, 1, 1)["total"] == leads
        assert p.sales.get_opportunity(opp["id"]) == opp
    with rpc(DESK) as p:
        _refused(lambda: p.service_desk.respond(1, f"您的身份证 {value}"), "message")
        _refused(lambda: p.service_desk.add_progress(1, value), "note")
    with rpc(MARKETER) as p:
        campaigns = p.marketing.list_campaigns({}, 1, 1)["total"]
        _refused(lambda: p.marketing.create_campaign({"theme": "发布会", "goal": value}), "goal")
        _refused(lambda: p.marketing.register_participant(
            1, {"contact": {"name": f"张三{value}", "company": "某公司",
                            "mobile": "13700137000"}}), "contact.name")
        _refused(lambda: p.marketing.record_feedback(1, 1, 5, value), "comment")
        assert p.marketing.list_campaigns({}, 1, 1)["total"] == campaigns


# --- the other way round: what must be accepted ---------------------------------

def test_all_digit_usccs_and_long_order_numbers_are_accepted(rpc):
    codes = [c for c in (ref.uscc(digits_only=True) for _ in range(20))
             if not ref.is_resident_id(c)][:5]
    needs = "关联公司 " + "、".join(codes) + "；订单号 " + "20240501123456789012345"
    with rpc(OWNER) as p:
        c = p.customers.create_customer(data.customer(needs=needs))
        assert c["needs"] == needs


def test_mobiles_in_any_digit_script_are_stored_as_ascii(rpc):
    mobiles = ["13８00138000", "١٣٩٠٠١٣٩٠٠٠", "１３７００１３７０００"]
    contacts = [{"name": f"联系人{i}", "title": "经理", "mobile": m, "is_primary": i == 0}
                for i, m in enumerate(mobiles)]
    with rpc(OWNER) as p:
        c = p.customers.create_customer(data.customer(contacts=contacts))
        stored = [x["mobile"] for x in p.customers.get_customer(c["id"])["contacts"]]
    assert sorted(stored) == ["13700137000", "13800138000", "13900139000"]
    assert all(m.isascii() for m in stored)
