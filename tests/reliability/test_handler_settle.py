"""Regression (found by scenario 5): a broker connection lost while a worker
acks / re-publishes / rejects its event escaped the worker, and nameko killed
the whole consumer process ("killing <ServiceContainer [reporting]> due to
[Errno 104] Connection reset by peer") instead of letting it reconnect."""
from unittest import mock

import pytest

from services.common.handlers import PoisonEvent, ReliableEventHandler


def handler(limit=3):
    h = object.__new__(ReliableEventHandler)
    h.queue_consumer = mock.Mock()
    h.queue_consumer.ack_message.side_effect = ConnectionResetError(104, "reset by peer")
    h.container = mock.Mock(service_name="reporting", max_workers=10)
    h.queue = mock.Mock()
    h.queue.name = "evt-sales-order_placed--reporting.apply_event"
    h.delivery_limit = limit
    h.handler_label = "reporting.apply_event"
    h._stopping, h._in_flight = False, 1  # one admitted message being settled
    return h


def message():
    m = mock.Mock(headers={}, properties={"message_id": "e1"})
    m.reject.side_effect = BrokenPipeError(32, "broken pipe")
    m.channel = mock.Mock()
    m.channel.basic_publish.side_effect = BrokenPipeError(32, "broken pipe")
    return m


@pytest.mark.parametrize("exc_info", [
    None,  # success: ack on a dead connection
    (PoisonEvent, PoisonEvent("x"), None),  # reject on a dead connection
    (ValueError, ValueError("x"), None),  # retry: re-publish on a dead channel
])
def test_lost_connection_while_settling_does_not_escape_the_worker(exc_info):
    with mock.patch("services.common.handlers.eventlet.sleep"), \
            mock.patch("services.common.handlers.Producer") as producer:
        producer.return_value.publish.side_effect = BrokenPipeError(32, "broken pipe")
        handler().handle_message_processed(message(), None, exc_info)


def test_stop_requeues_waiting_messages_and_waits_for_admitted_ones():
    """SIGTERM: messages not yet admitted are requeued untouched (never applied,
    so never applied twice); stop() returns once the admitted one settled."""
    import eventlet

    h = handler()
    h.container.max_workers = 1
    h._in_flight = 0
    h.container._crm_event_gate = None
    del h.container._crm_event_gate
    h.queue_consumer.ack_message.side_effect = None
    spawned = []
    h.container.spawn_worker.side_effect = lambda *a, **kw: spawned.append(kw["handle_result"])
    body = {"event_id": "x"}
    with mock.patch("services.common.handlers.validate_event", return_value={}), \
            mock.patch.object(ReliableEventHandler, "unpack_message_headers", return_value={}):
        first, second = message(), message()
        eventlet.spawn(h.handle_message, body, first)
        waiting = eventlet.spawn(h.handle_message, body, second)
        eventlet.sleep(0.1)
        assert len(spawned) == 1 and h._in_flight == 1  # one slot: the second waits
        with mock.patch("nameko.messaging.Consumer.stop") as consumer_stop:
            stopper = eventlet.spawn(h.stop)
            waiting.wait()
            h.queue_consumer.requeue_message.assert_called_once_with(second)
            eventlet.sleep(0.2)
            assert not stopper.dead and not consumer_stop.called  # still settling the first
            spawned[0](mock.Mock(), None, None)  # the admitted worker finishes: acked
            stopper.wait()
            consumer_stop.assert_called_once()
    h.queue_consumer.ack_message.assert_called_once_with(first)
    assert len(spawned) == 1 and h._in_flight == 0


@pytest.mark.parametrize("method", ["ack_message", "requeue_message"])
def test_queue_consumer_survives_a_reset_socket_while_settling(method):
    """Found by scenario 5: the RPC reply listener's ack on a reset socket raised
    ConnectionResetError (nameko only catches amqp's ConnectionError) and nameko
    killed the whole service."""
    from nameko.messaging import QueueConsumer

    import services.common.gateway  # noqa: F401 - gateways get the patch too
    assert getattr(QueueConsumer.ack_message, "_crm_tolerant", False)
    m = mock.Mock(properties={"message_id": "r1"})
    m.ack.side_effect = m.requeue.side_effect = ConnectionResetError(104, "reset by peer")
    getattr(QueueConsumer, method)(object.__new__(QueueConsumer), m)  # no exception
