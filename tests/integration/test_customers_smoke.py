import pytest

from services.common.cli.demo import demo_customers
from services.customers.service import CustomersService
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration


def test_create_publishes_one_event(start_service, rpc, event_tap):
    start_service(CustomersService)
    tap = event_tap("customers", "customer_created")
    data = next(demo_customers(1, ["u1"], seed=991))
    with rpc(actor("u1")) as proxy:
        created = proxy.customers.create_customer(data)
    events = tap.wait_for(1, "customer_created")
    assert events[0]["data"]["customer_id"] == created["id"]
    assert data["contacts"][0]["mobile"][-8:] not in str(events[0])
    assert len(tap.settle(0.5)) == 1
