"""Least privilege on the bus (issue 21), on the real broker: every service, gateway
and the CLI connect as their own RabbitMQ user (services.common.bus_users, created
by services.common.bus_provision as ``crm bus setup`` does); a service can consume
only its own queues and publish only to nameko-rpc, its own events and retry
exchanges; the whole stack still works with those users.

The users get a per-run prefix (RabbitMQ users are global to a broker) and are
deleted afterwards."""
import shutil
import subprocess
import time
import uuid

import amqp
import pytest
import requests
from amqp.exceptions import AccessRefused
from kombu import Connection

from services.common.auth import mint_token
from services.common.bus import setup_bus
from services.common.bus_provision import component_uri, provision
from services.common.bus_users import principals
from services.common.cli.rpc_client import cluster
from services.contract import bus_settings, queue_name
from services.customers.gateway import CustomersGateway
from services.customers.service import CustomersService
from services.marketing.service import MarketingService
from services.reporting.service import ReportingService
from services.sales.service import SalesService
from services.service_desk.service import ServiceDeskService
from tests.support.data import customer as customer_data
from tests.support.fixtures import free_port
from tests.support.infra import Vhost

pytestmark = pytest.mark.integration
CUSTOMERS_QUEUE = queue_name("sales", "order_placed", "customers", "on_order_event")
SALES_QUEUE = queue_name("marketing", "campaign_lead_generated", "sales",
                         "on_campaign_lead_generated")
PREFIX = f"t{uuid.uuid4().hex[:6]}-"


@pytest.fixture(scope="module")
def bus(config, tmp_path_factory):
    if not shutil.which("rabbitmqctl"):
        pytest.skip("rabbitmqctl is needed to create the per-service users")
    vhost = Vhost()
    admin_uri = vhost.create()
    if not vhost.created:
        pytest.skip("no vhost of our own: users must not be created on a shared vhost")
    setup_bus(admin_uri, *bus_settings(config))
    folder = tmp_path_factory.mktemp("bus-users")
    done = provision(admin_uri, folder, prefix=PREFIX)
    assert done["ok"], done
    with Connection(admin_uri) as conn:  # the customers' RPC queue, as nameko declares it
        ch = conn.channel()
        ch.exchange_declare("nameko-rpc", "topic", durable=True, auto_delete=False)
        ch.queue_declare("rpc-customers", durable=True, auto_delete=False)
        ch.queue_bind("rpc-customers", "nameko-rpc", "customers.*")
    yield {"admin": admin_uri, "folder": folder,
           "uri": lambda user: component_uri(admin_uri, folder, PREFIX + user)}
    vhost.drop()
    deleting = [subprocess.Popen(["rabbitmqctl", "delete_user", "-q", user],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for user, _kind, _service in principals(PREFIX)]
    for proc in deleting:
        proc.wait(timeout=120)


def channel_of(uri):
    """A py-amqp connection and channel as that user (publisher confirms on)."""
    parts = uri.split("://", 1)[1]
    creds, rest = parts.split("@", 1)
    user, password = creds.split(":", 1)
    from urllib.parse import unquote
    host, _, vhost = rest.partition("/")
    conn = amqp.Connection(host=host, userid=unquote(user), password=unquote(password),
                           virtual_host=unquote(vhost) or "/", confirm_publish=True)
    conn.connect()
    return conn, conn.channel()


def refused(uri, action):
    conn, ch = channel_of(uri)
    try:
        with pytest.raises(AccessRefused):
            action(ch)
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - the broker closed the channel already
            pass


def allowed(uri, action):
    conn, ch = channel_of(uri)
    try:
        return action(ch)
    finally:
        conn.close()


def publish(exchange, key):
    return lambda ch: ch.basic_publish(amqp.Message(b"{}", content_type="application/json"),
                                       exchange=exchange, routing_key=key)


def test_sales_cannot_consume_the_customers_queues(bus):
    sales = bus["uri"]("sales")
    refused(sales, lambda ch: ch.basic_consume("rpc-customers", callback=print))
    refused(sales, lambda ch: ch.basic_get("rpc-customers"))
    refused(sales, lambda ch: ch.basic_consume(CUSTOMERS_QUEUE, callback=print))
    refused(sales, lambda ch: ch.basic_get(CUSTOMERS_QUEUE + ".dlq"))
    refused(sales, lambda ch: ch.queue_purge(CUSTOMERS_QUEUE))
    refused(sales, lambda ch: ch.queue_delete(CUSTOMERS_QUEUE))
    allowed(sales, lambda ch: ch.basic_get(SALES_QUEUE))  # its own: fine


def test_sales_cannot_publish_as_customers(bus):
    sales = bus["uri"]("sales")
    refused(sales, publish("customers.events", "customer_created"))
    refused(sales, publish("customers.retry", CUSTOMERS_QUEUE))
    # the default exchange reaches every queue by name: closed to services
    refused(sales, publish("", "rpc-customers"))
    refused(sales, publish("", CUSTOMERS_QUEUE))
    refused(sales, lambda ch: ch.exchange_delete("customers.events"))
    refused(sales, lambda ch: ch.exchange_declare("customers.events", "topic", durable=True,
                                                  auto_delete=False))
    allowed(sales, publish("sales.events", "no_such_event"))  # routed nowhere: no noise
    allowed(sales, publish("nameko-rpc", "nobody.no_method"))  # RPC requests go here


def test_sales_cannot_copy_another_services_rpc_requests(bus):
    sales = bus["uri"]("sales")
    reply = f"rpc.reply-sales-{uuid.uuid4()}"

    def bind(key):
        def run(ch):
            ch.queue_declare(reply, auto_delete=True)
            ch.queue_bind(reply, "nameko-rpc", key)
        return run
    refused(sales, bind("customers.get_customer"))
    refused(sales, bind("#"))
    allowed(sales, bind(str(uuid.uuid4())))  # its reply queue's binding
    refused(sales, lambda ch: ch.queue_declare(f"rpc.reply-customers-{uuid.uuid4()}",
                                               auto_delete=True))


def test_gateways_and_the_cli_own_reply_queues_only(bus):
    for who in ("customers_gateway", "crm_cli"):
        uri = bus["uri"](who)
        refused(uri, lambda ch: ch.basic_get("rpc-customers"))
        refused(uri, lambda ch: ch.basic_get(CUSTOMERS_QUEUE))
        refused(uri, publish("customers.events", "customer_created"))
        refused(uri, lambda ch: ch.queue_declare("rpc-customers", durable=True,
                                                 auto_delete=False))
        allowed(uri, publish("nameko-rpc", "nobody.no_method"))


def test_a_failing_handlers_retry_reaches_its_own_queue_only(bus):
    customers = bus["uri"]("customers")
    allowed(customers, publish("customers.retry", CUSTOMERS_QUEUE))
    got = allowed(customers, lambda ch: ch.basic_get(CUSTOMERS_QUEUE, no_ack=True))
    assert got is not None and got.body == b"{}"


def test_the_whole_stack_runs_with_its_own_users(bus, config, module_services):
    for cls, user in ((CustomersService, "customers"), (SalesService, "sales"),
                      (ServiceDeskService, "service_desk"), (MarketingService, "marketing"),
                      (ReportingService, "reporting")):
        module_services(cls, AMQP_URI=bus["uri"](user))
    port = free_port()
    module_services(CustomersGateway, AMQP_URI=bus["uri"]("customers_gateway"),
                    WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", RATE_LIMIT_PER_MINUTE=0)
    cli = dict(config, AMQP_URI=bus["uri"]("crm_cli"))
    with cluster(cli) as system:
        made = system.customers.create_customer(customer_data(owner_id="lp-u1"))
    token = mint_token(config, "lp-u1", "staff", "sales")
    with cluster(cli, token=token) as staff:  # sales -> customers on the caller's token
        opp = staff.sales.create_opportunity({"customer_id": made["id"], "amount": "1000.00",
                                              "expected_close_date": "2030-01-31"})
        assert opp["customer_id"] == made["id"]
    # customers' event reaches service_desk's own queue and copy (relay + handler)
    deadline = time.monotonic() + 30
    with cluster(cli) as system:
        while not [c for c in system.service_desk.search_customers(made["name"], 10)
                   if c["id"] == made["id"]]:
            assert time.monotonic() < deadline, "customer_created never reached service_desk"
            time.sleep(0.3)
    got = requests.get(f"http://127.0.0.1:{port}/customers/{made['id']}",
                       headers={"Authorization": f"Bearer {token}"}, timeout=20)
    assert got.status_code == 200 and got.json()["id"] == made["id"]
