"""nameko patch every service process needs (domain services and gateways).

nameko's ``QueueConsumer.ack_message`` / ``requeue_message`` skip a message
whose connection is gone but only catch amqp's ``ConnectionError``; a reset
socket raises ``OSError`` (``ConnectionResetError``) instead, which escaped e.g.
the RPC reply listener's ack (every ``RpcProxy``) and killed the whole service
("killing <ServiceContainer [sales]> due to [Errno 104]"), found by chaos
scenario 5. Same meaning, same handling: the broker has already reclaimed the
message and redelivers it. Importing this module applies the patch (idempotent).
"""
import logging

from amqp.exceptions import ConnectionError as AmqpConnectionError
from nameko.messaging import QueueConsumer

log = logging.getLogger(__name__)
CONNECTION_LOST = (OSError, AmqpConnectionError)


def tolerate_lost_connection(settle):
    if getattr(settle, "_crm_tolerant", False):
        return settle

    def tolerant(self, message):
        try:
            return settle(self, message)
        except CONNECTION_LOST as exc:
            log.warning("connection lost while settling message %s (%r): the broker "
                        "redelivers it", message.properties.get("message_id"), exc)
            return None

    tolerant._crm_tolerant = True
    return tolerant


QueueConsumer.ack_message = tolerate_lost_connection(QueueConsumer.ack_message)
QueueConsumer.requeue_message = tolerate_lost_connection(QueueConsumer.requeue_message)
