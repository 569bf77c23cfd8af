"""RPC replies go out unconfirmed and transient (services.common.replies), against
the real broker: results, declared errors and unserialisable results reach the
caller exactly as with nameko's own responder, and the reply message is transient."""
import subprocess
import time
import uuid

import pytest
from kombu import Connection, Consumer, Exchange, Queue
from kombu.pools import connections
from nameko.exceptions import RemoteError

from services.common.errors import ValidationError
from services.common.service import ResilientRpc, declared_rpc


class ReplyProbe:
    name = f"replyprobe{uuid.uuid4().hex[:8]}"

    @declared_rpc((ValidationError,))
    def echo(self, value):
        return value

    @declared_rpc((ValidationError,))
    def refuse(self, field):
        raise ValidationError("Invalid input", {field: ["bad"]})

    @ResilientRpc.decorator
    def unserialisable(self):
        return object()


@pytest.fixture
def probe(start_service, rpc):
    start_service(ReplyProbe)
    with rpc() as proxy:
        yield getattr(proxy, ReplyProbe.name)


def test_results_and_declared_errors_reach_the_caller(probe):
    body = {"name": "华东客户", "tags": ["a", "b"], "n": 3}
    assert probe.echo(body) == body
    with pytest.raises(ValidationError) as err:  # a declared error comes back as itself
        probe.refuse("mobile")
    assert err.value.fields == {"mobile": ["bad"]}


def test_an_unserialisable_result_is_an_error_not_a_lost_reply(probe):
    with pytest.raises(RemoteError) as err:
        probe.unserialisable()
    assert err.value.exc_type == "UnserializableValueError"


def test_the_reply_is_transient(start_service, amqp_uri, config):
    from services.common.auth import mint_service_token
    start_service(ReplyProbe)
    # every RPC call carries a verified identity (issue 21): a service principal's
    identity = {"nameko.authorization": f"Bearer {mint_service_token(config, 'probe')}"}
    with Connection(amqp_uri) as conn:
        name = f"probe-reply-{uuid.uuid4().hex}"
        reply_queue = Queue(name, exclusive=True, auto_delete=True, routing_key=name,
                            exchange=Exchange("nameko-rpc", type="topic", durable=True))
        got = []
        with Consumer(conn, [reply_queue], accept=["json"],
                      callbacks=[lambda body, msg: got.append((body, msg))]):
            producer = conn.Producer()
            producer.publish({"args": [7], "kwargs": {}}, serializer="json",
                             exchange="nameko-rpc", routing_key=f"{ReplyProbe.name}.echo",
                             reply_to=reply_queue.routing_key, correlation_id="c1",
                             mandatory=True, headers=identity)
            while not got:
                conn.drain_events(timeout=10)
    body, message = got[0]
    assert body == {"result": 7, "error": None}
    assert message.properties["correlation_id"] == "c1"
    assert message.properties["delivery_mode"] == 1


def _pooled_reply_ports(container):
    """Local ports of the reply publisher's pooled connections that are open."""
    consumer = next(e.rpc_consumer for e in container.entrypoints
                    if isinstance(e, ResilientRpc))
    pool = connections[consumer._reply_conn]
    conns = list(pool._resource.queue) + list(pool._dirty)
    return {c.connection.transport.sock.getsockname()[1] for c in conns
            if isinstance(c, Connection) and c.connected}


def _broker_closes(ports):
    rows = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid", "peer_port"],
                          check=True, capture_output=True, text=True, timeout=30).stdout
    closed = 0
    for pid, peer_port in (row.split("\t") for row in rows.splitlines() if "\t" in row):
        if peer_port.strip().isdigit() and int(peer_port) in ports:
            subprocess.run(["rabbitmqctl", "-q", "close_connection", pid, "test"],
                           check=True, capture_output=True, timeout=30)
            closed += 1
    return closed


def test_a_reply_after_the_broker_closed_the_pooled_connection_still_arrives(
        start_service, rpc):
    """Nothing waits for a confirm on a reply connection, so a connection the broker
    closed (a restart, a forced close) is noticed only by py-amqp reading the close
    before the next publish; kombu's ``retry`` must then reconnect and publish again,
    or that reply is lost and the caller times out (this fails with ``retry=False``)."""
    container = start_service(ReplyProbe)
    with rpc(timeout=5) as proxy:
        probe = getattr(proxy, ReplyProbe.name)
        assert probe.echo(1) == 1
        ports = _pooled_reply_ports(container)
        assert ports and _broker_closes(ports) == len(ports)
        time.sleep(0.5)  # the broker's close frame and FIN reach the socket
        for n in range(len(ports) + 2):  # not an RpcTimeout, whichever connection replies
            assert probe.echo(n) == n
        # the first reply after the close went out on a stale connection: it reconnected
        # (others may stay in the pool untouched until they are next used)
        assert _pooled_reply_ports(container) - ports
