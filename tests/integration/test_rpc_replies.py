"""RPC replies go out unconfirmed and transient (services.common.replies), against
the real broker: results, declared errors and unserialisable results reach the
caller exactly as with nameko's own responder, and the reply message is transient."""
import uuid

import pytest
from kombu import Connection, Consumer, Exchange, Queue
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


def test_the_reply_is_transient(start_service, amqp_uri):
    start_service(ReplyProbe)
    with Connection(amqp_uri) as conn:
        reply_queue = Queue(f"probe-reply-{uuid.uuid4().hex}", exclusive=True, auto_delete=True,
                            exchange=Exchange("nameko-rpc", type="topic", durable=True),
                            routing_key=f"probe-reply-{uuid.uuid4().hex}")
        got = []
        with Consumer(conn, [reply_queue], accept=["json"],
                      callbacks=[lambda body, msg: got.append((body, msg))]):
            producer = conn.Producer()
            producer.publish({"args": [7], "kwargs": {}}, serializer="json",
                             exchange="nameko-rpc", routing_key=f"{ReplyProbe.name}.echo",
                             reply_to=reply_queue.routing_key, correlation_id="c1",
                             mandatory=True)
            while not got:
                conn.drain_events(timeout=10)
    body, message = got[0]
    assert body == {"result": 7, "error": None}
    assert message.properties["correlation_id"] == "c1"
    assert message.properties["delivery_mode"] == 1
