"""customers over real RPC: every method, validation, conflicts, history."""
import base64

import pytest

from services.common.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, ValidationError
from services.customers.service import CustomersService
from tests.support import data
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration
U1, U2, M = actor("u1"), actor("u2"), actor("m1", "manager", "management")


@pytest.fixture(scope="module", autouse=True)
def _service(module_services):
    module_services(CustomersService)


def test_create_get_update_roundtrip(rpc):
    with rpc(U1) as p:
        c = p.customers.create_customer(data.customer(annual_budget="120.5"))
        assert c["owner_id"] == "u1" and c["annual_budget"] == "120.50"
        assert c["contacts"][0]["is_primary"] and c["tier"] == "normal"
        assert c["completeness"] == round(9 / 12, 4)
        got = p.customers.get_customer(c["id"])
        assert isinstance(c.pop("duplicates"), list)  # create's warnings (issue 20)
        assert got == c
        up = p.customers.update_customer(c["id"], {"scale": "large", "needs": "扩产",
                                                   "version": c["version"]})
        assert up["scale"] == "large" and up["version"] == c["version"] + 1
        assert up["completeness"] > c["completeness"]


def test_validation_is_field_by_field_and_writes_nothing(rpc):
    bad = data.customer(uscc="91110000600037341M", industry_code="Z9",
                        contacts=[{"name": "李四", "title": "经理", "mobile": "12345"}],
                        email_typo=1)
    with rpc(M) as p:
        before = p.customers.list_customers({}, page_size=1)["total"]
        with pytest.raises(ValidationError) as exc:
            p.customers.create_customer(bad)
        assert {"uscc", "industry_code", "email_typo"} <= set(exc.value.fields)
        assert "mobile" in str(exc.value.fields["contacts"])
        with pytest.raises(ValidationError) as exc:
            p.customers.create_customer({"name": "x"})
        assert {"uscc", "industry_code", "type", "contacts"} <= set(exc.value.fields)
        assert p.customers.list_customers({}, page_size=1)["total"] == before


def test_primary_contact_required(rpc):
    with rpc(U1) as p, pytest.raises(ValidationError) as exc:
        p.customers.create_customer(data.customer(contacts=[
            {"name": "a", "title": "t", "mobile": "13800138000", "is_primary": True},
            {"name": "b", "title": "t", "mobile": "13800138001", "is_primary": True}]))
    assert "contacts" in exc.value.fields


def test_duplicate_uscc_and_stale_version_conflict(rpc):
    d = data.customer()
    with rpc(U1) as p:
        c = p.customers.create_customer(d)
        with pytest.raises(Conflict) as exc:
            p.customers.create_customer(dict(data.customer(), uscc=d["uscc"]))
        assert exc.value.code == "DUPLICATE_USCC"
        p.customers.update_customer(c["id"], {"region": "杭州", "version": 1})
        with pytest.raises(Conflict) as exc:
            p.customers.update_customer(c["id"], {"region": "南京", "version": 1})
        assert exc.value.code == "STALE_VERSION"
        assert p.customers.get_customer(c["id"])["region"] == "杭州"


def test_tags_and_filters(rpc):
    tag = f"t{data.uscc()[-6:]}"
    with rpc(U1) as p:
        a = p.customers.create_customer(data.customer(tags=[tag, "A"], region="深圳"))
        b = p.customers.create_customer(data.customer(tags=[tag], industry_code="I65"))
        p.customers.add_tags(b["id"], ["B"])
        ids = lambda f: {c["id"] for c in p.customers.list_customers(f, page_size=100)["items"]}  # noqa: E731
        assert ids({"tags_all": [tag, "A"]}) == {a["id"]}
        assert ids({"tags_any": ["A", "B"], "tags_all": [tag]}) == {a["id"], b["id"]}
        assert ids({"tags_all": [tag], "industry_code": "I"}) == {b["id"]}
        assert ids({"tags_all": [tag], "region": "深圳"}) == {a["id"]}
        assert ids({"tags_all": [tag], "q": a["name"]}) == {a["id"]}
        removed = p.customers.remove_tags(a["id"], ["A"])
        assert "A" not in removed["tags"]
        with pytest.raises(ValidationError):
            p.customers.list_customers({"tier": "gold"})
        with pytest.raises(ValidationError):
            p.customers.list_customers({}, page_size=101)


def test_lost_and_reactivate(rpc):
    with rpc(U1) as p:
        c = p.customers.create_customer(data.customer())
        with pytest.raises(ValidationError):
            p.customers.mark_lost(c["id"], "bored", None)
        lost = p.customers.mark_lost(c["id"], "competitor", "被竞品低价抢走")
        assert lost["type"] == "lost" and lost["lost_reason"] == "competitor" and lost["lost_at"]
        with pytest.raises(Conflict):
            p.customers.mark_lost(c["id"], "price", None)
        back = p.customers.reactivate(c["id"])
        assert back["type"] == "potential" and back["lost_reason"] is None
        with pytest.raises(Conflict):
            p.customers.reactivate(c["id"])


def test_set_owner_is_for_managers(rpc):
    with rpc(U1) as p:
        c = p.customers.create_customer(data.customer())
        with pytest.raises(Forbidden):
            p.customers.set_owner(c["id"], "u2")
    with rpc(M) as p:
        assert p.customers.set_owner(c["id"], "u2")["owner_id"] == "u2"
    with rpc(U1) as p, pytest.raises(NotFound):
        p.customers.get_customer(c["id"])


def test_history_is_masked_and_chained(rpc):
    with rpc(U1) as p:
        c = p.customers.create_customer(data.customer())
        mobile = c["contacts"][0]["mobile"]
        contacts = [dict(c["contacts"][0], mobile="13911112222")]
        contacts[0].pop("id")
        p.customers.update_customer(c["id"], {"contacts": contacts})
        log = p.customers.get_history(c["id"])
        assert [e["action"] for e in log] == ["created", "updated"]
        assert mobile not in str(log) and "139****2222" in str(log)
        assert log[1]["operator_id"] == "u1"
        assert p.customers.verify_history(c["id"]) == {"valid": True, "entries": 2,
                                                       "broken_at_seq": None}


def test_attachments_checked_by_content_and_size(rpc):
    pdf = base64.b64encode(b"%PDF-1.4\n%test\n").decode()
    with rpc(U1) as p:
        c = p.customers.create_customer(data.customer())
        att = p.customers.add_attachment(c["id"], "营业执照.pdf", pdf)
        assert att["content_type"] == "application/pdf" and att["size"] == 15
        with pytest.raises(ValidationError) as exc:
            p.customers.add_attachment(c["id"], "fake.jpg", pdf)
        assert "filename" in exc.value.fields
        with pytest.raises(ValidationError):
            p.customers.add_attachment(c["id"], "x.pdf", "not base64!!")
        big = base64.b64encode(b"%PDF-" + b"0" * (5 * 1024 * 1024)).decode()
        with pytest.raises(PayloadTooLarge):
            p.customers.add_attachment(c["id"], "big.pdf", big)
        assert [a["id"] for a in p.customers.list_attachments(c["id"])] == [att["id"]]


def test_import_reports_bad_rows_and_keeps_good_ones(rpc):
    good = data.customer()
    row = {"name": good["name"], "uscc": good["uscc"], "industry_code": "C35", "type": "closed",
           "contact_name": "赵六", "contact_title": "总经理", "contact_mobile": "13700001111",
           "tags": "老客户;重点跟进", "annual_budget": "300"}
    bad = dict(row, uscc="123", contact_mobile="999")
    with rpc(M) as p:
        res = p.customers.import_customers([row, bad, dict(row, industry_code="C36")])
        assert res["created"] == 1 and res["updated"] == 1
        assert res["errors"] == [{"row": 2, "fields": {
            "uscc": ["unified social credit code must be exactly 18 characters"],
            "contact_mobile": ["mobile must be 11 digits starting with 13-19 (mainland China)"]}}]
        found = p.customers.list_customers({"q": good["uscc"]})["items"]
        assert len(found) == 1 and found[0]["industry_code"] == "C36"
        assert found[0]["tags"] == ["老客户", "重点跟进"]


def test_at_is_refused_for_staff_and_kept_for_system(rpc):
    with rpc(U1) as p, pytest.raises(Forbidden):
        p.customers.create_customer(data.customer(), at="2020-01-01T00:00:00+00:00")
    with rpc() as p:
        c = p.customers.create_customer(data.customer(owner_id="u1"),
                                        at="2020-01-01T00:00:00+08:00")
        assert c["created_at"].startswith("2019-12-31T16:00:00")


def test_rpc_arguments_no_column_can_hold_are_declared_validation_errors(rpc):
    """Found by fuzzing: a 20-digit id reached SQLite (OverflowError) as an
    undeclared error. Every declared RPC checks its arguments first."""
    with rpc(M) as p:
        before = p.customers.list_customers({}, page_size=1)["total"]
        with pytest.raises(ValidationError) as exc:
            p.customers.get_customer(10 ** 20)
        assert exc.value.fields == {"customer_id": [
            "integer out of range (-9223372036854775808..9223372036854775807)"]}
        with pytest.raises(ValidationError) as exc:
            p.customers.add_tags(2 ** 63, ["x"])
        assert set(exc.value.fields) == {"customer_id"}
        with pytest.raises(ValidationError) as exc:
            p.customers.create_customer(data.customer(name="bad \ud800 name"))
        assert set(exc.value.fields) == {"name"}
        with pytest.raises(ValidationError) as exc:
            p.customers.list_customers({}, page=2 ** 70)
        assert set(exc.value.fields) == {"page"}
        assert p.customers.list_customers({}, page_size=1)["total"] == before
