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
    h.container = mock.Mock(service_name="reporting")
    h.queue = mock.Mock()
    h.queue.name = "evt-sales-order_placed--reporting.apply_event"
    h.delivery_limit = limit
    h.handler_label = "reporting.apply_event"
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
