"""BOLA: staff reach only their own customers; denial looks like not-found."""
import base64

import pytest

from services.common.errors import NotFound
from services.customers.service import CustomersService
from tests.support import data
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration
A, B, M = actor("bola-a"), actor("bola-b"), actor("bola-m", "manager", "management")
PDF = base64.b64encode(b"%PDF-1.4 x").decode()


@pytest.fixture(scope="module", autouse=True)
def _service(module_services):
    module_services(CustomersService)


@pytest.fixture(scope="module")
def b_customer(module_services, config):
    from services.common.cli.rpc_client import cluster
    with cluster(config, B) as p:
        return p.customers.create_customer(data.customer())


ATTEMPTS = [
    ("get_customer", lambda c: (c,)),
    ("update_customer", lambda c: (c, {"region": "被篡改"})),
    ("add_tags", lambda c: (c, ["x"])),
    ("remove_tags", lambda c: (c, ["展会获取"])),
    ("mark_lost", lambda c: (c, "price", None)),
    ("set_owner", lambda c: (c, "bola-a")),
    ("get_history", lambda c: (c,)),
    ("verify_history", lambda c: (c,)),
    ("add_attachment", lambda c: (c, "a.pdf", PDF)),
    ("list_attachments", lambda c: (c,)),
    ("get_attachment", lambda c: (c, 1)),
]


@pytest.mark.parametrize("method,args", ATTEMPTS, ids=[a[0] for a in ATTEMPTS])
def test_staff_cannot_touch_anothers_customer(rpc, b_customer, method, args):
    with rpc(A) as p, pytest.raises(NotFound):
        getattr(p.customers, method)(*args(b_customer["id"]))
    with rpc(B) as p:
        after = p.customers.get_customer(b_customer["id"])
    assert after["region"] == b_customer["region"] and after["type"] == "potential"
    assert after["owner_id"] == "bola-b" and after["tags"] == b_customer["tags"]


def test_lists_are_scoped(rpc, b_customer):
    with rpc(A) as p:
        mine = p.customers.create_customer(data.customer())
        seen = {c["id"] for c in p.customers.list_customers({}, page_size=100)["items"]}
        assert mine["id"] in seen and b_customer["id"] not in seen
        assert p.customers.list_customers({"owner_id": "bola-b"})["total"] == 0
        assert p.customers.list_customers({"q": b_customer["uscc"]})["total"] == 0


def test_manager_sees_all_with_masked_contacts(rpc, b_customer):
    with rpc(M) as p:
        got = p.customers.get_customer(b_customer["id"])
        assert got["contacts"][0]["mobile"].count("*") == 4
        assert p.customers.list_customers({"owner_id": "bola-b"})["total"] >= 1
        assert p.customers.add_tags(b_customer["id"], ["经理复核"])["tags"]
    with rpc(B) as p:
        own = p.customers.get_customer(b_customer["id"])
        assert "*" not in own["contacts"][0]["mobile"]
