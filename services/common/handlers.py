"""Event handler entrypoint: contract queues, bounded retries, dead-lettering.

    @event_handler("sales", "order_placed")
    def on_order_event(self, envelope):
        with self.db.uow() as uow:
            if uow.already_applied(envelope):
                return
            ...
            uow.commit()

The queue is declared exactly as ``crm bus setup`` declares it (same type and
arguments, dead-letter exchange ``crm.dlx``). A failing handler's message is
re-published to the back of its queue after a short backoff with an attempt
counter; at ``EVENT_DELIVERY_LIMIT`` attempts it is rejected into
``<queue>.dlq`` and counted, so other messages keep flowing. Re-publishing goes
through the service's own ``<service>.retry`` exchange (services.common.bus_users). An envelope that
does not match the contract (or raises ``PoisonEvent``) is dead-lettered at once.
"""
import logging
import time
from functools import partial

import eventlet
from amqp.exceptions import AccessRefused as AmqpAccessRefused
from amqp.exceptions import ConnectionError as AmqpConnectionError
from amqp.exceptions import NotFound as AmqpNotFound
from eventlet.semaphore import Semaphore
from kombu import Connection, Producer
from nameko.containers import ContainerBeingKilled
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer

import services.common.amqp_settle  # noqa: F401 - nameko settles survive a reset socket
from services.common import metrics
from services.common.contract_bus import (
    consumer_queue_obj,
    dlq_obj,
    events_exchange_obj,
    retry_exchange,
    retry_exchange_obj,
)
from services.contract import CONSUMERS, bus_settings, queue_name
from services.contract.events import validate_event

log = logging.getLogger(__name__)
ATTEMPTS_HEADER = "x-crm-attempts"
# A broker connection lost while a worker settles its message (ack, re-publish,
# reject) must not escape the worker: nameko would kill the whole container.
# The broker redelivers the unsettled message; the inbox absorbs the repeat.
_CONNECTION_LOST = (OSError, AmqpConnectionError)
STOP_GRACE = 20  # seconds stop() waits for admitted events to settle


class PoisonEvent(Exception):
    """The event can never be applied: dead-letter it without retrying."""


class ReliableEventHandler(EventHandler):
    def setup(self):
        service = self.container.service_name
        declared = CONSUMERS.get(service, {}).get(self.method_name, [])
        if (self.source_service, self.event_type) not in declared:
            raise RuntimeError(
                f"{service}.{self.method_name} consumes {self.source_service}.{self.event_type}"
                " but services/contract does not declare it")
        self.delivery_limit, queue_type = bus_settings(self.container.config)
        name = queue_name(self.source_service, self.event_type, service, self.method_name)
        self.queue = consumer_queue_obj(name, self.source_service, self.event_type,
                                        self.delivery_limit, queue_type)
        # another service's events exchange is declared by `crm bus setup`, never here:
        # a service's bus user may not configure (declare, delete) what it does not own
        self.queue.exchange.no_declare = True
        self._declare_on_the_bus()
        self.handler_label = f"{service}.{self.method_name}"
        self._stopping = False
        self._in_flight = 0
        Consumer.setup(self)

    def _declare_on_the_bus(self):
        """Before consuming, on a short connection of its own (a worker must not make
        synchronous calls on the consumer's channel): check (passively, no permission
        needed) that the source exchange exists and declare it only if missing, which
        an administrator's user may do (tests; `crm bus setup` not run yet) and a
        service's least-privilege user may not (it may not configure what it does not
        own); declare this service's retry exchange, the queue with its binding, and
        bind the queue to the retry exchange (routing key = the queue's name)."""
        exchange = events_exchange_obj(self.source_service)
        retry = retry_exchange_obj(self.container.service_name)
        with Connection(self.container.config["AMQP_URI"], connect_timeout=10) as conn:
            try:
                exchange(conn.channel()).declare(passive=True)
            except AmqpNotFound:
                try:
                    exchange(conn.channel()).declare()
                except AmqpAccessRefused:
                    log.error("exchange %s is missing and this user may not declare it: run "
                              "`crm bus setup` first", exchange.name)
                    raise
            channel = conn.channel()
            retry(channel).declare()
            self.queue(channel).declare()
            channel.queue_bind(self.queue.name, retry.name, self.queue.name)

    # --- admission and graceful stop --------------------------------------------
    # nameko hands every *delivered* message to a thread at once; with one
    # consumer per contract queue and a prefetch of max_workers each, reporting
    # holds hundreds of messages, and on SIGTERM nameko ran every one of them
    # before exiting (> 30 s under load). Messages now wait for one of the
    # container's max_workers admission slots; once stop() is called the waiting
    # ones are requeued untouched (not applied, so never applied twice) and
    # stop() returns when the admitted ones have settled.
    def _gate(self):
        gate = getattr(self.container, "_crm_event_gate", None)
        if gate is None:
            gate = Semaphore(self.container.max_workers)
            self.container._crm_event_gate = gate
        return gate

    def _admit(self, message):
        gate = self._gate()
        while not gate.acquire(timeout=0.5):
            if self._stopping:
                break
        else:
            if not self._stopping:
                self._in_flight += 1
                return True
            gate.release()
        self._requeue(message)
        return False

    def _settled(self):
        self._in_flight -= 1
        self._gate().release()

    def _requeue(self, message):
        try:
            self.queue_consumer.requeue_message(message)
        except _CONNECTION_LOST:
            pass  # the broker requeues what an unsettled connection held

    def stop(self):
        self._stopping = True
        deadline = time.monotonic() + STOP_GRACE
        while self._in_flight > 0 and time.monotonic() < deadline:
            eventlet.sleep(0.05)
        if self._in_flight:
            log.warning("%s: %s event(s) still running after %ss", self.queue.name,
                        self._in_flight, STOP_GRACE)
        super().stop()

    def handle_message(self, body, message):
        if not self._admit(message):
            return
        try:
            errors = validate_event(body) if isinstance(body, dict) \
                else {"body": ["not an object"]}
            if errors:
                log.error("dead-lettering malformed event on %s: %s", self.queue.name, errors)
                self.handle_message_processed(message, None, (PoisonEvent, PoisonEvent(
                    "malformed"), None))
                return
            self.container.spawn_worker(self, (body,), {},
                                        context_data=self.unpack_message_headers(message),
                                        handle_result=partial(self.handle_result, message))
        except ContainerBeingKilled:
            self._requeue(message)
            self._settled()
        except BaseException:
            self._settled()
            raise

    def handle_message_processed(self, message, result=None, exc_info=None):
        try:
            self._settle(message, exc_info)
        except _CONNECTION_LOST as exc:
            log.warning("connection lost while settling event %s on %s (%r): the broker "
                        "redelivers it", message.properties.get("message_id"),
                        self.queue.name, exc)
        finally:
            self._settled()

    def _settle(self, message, exc_info):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        service = self.container.service_name
        if isinstance(exc_info[1], PoisonEvent):
            self._dead_letter(message)
            return
        headers = dict(message.headers or {})
        attempts = max(int(headers.get(ATTEMPTS_HEADER, 0)),
                       int(headers.get("x-delivery-count", 0))) + 1
        if attempts >= self.delivery_limit:
            log.error("dead-lettering event %s on %s after %s attempts", message.properties
                      .get("message_id"), self.queue.name, attempts)
            self._dead_letter(message)
            return
        metrics.EVENTS_RETRIED.labels(service, self.handler_label).inc()
        eventlet.sleep(min(0.1 * 2 ** attempts, 3.0))
        self._retry_later(message, dict(headers, **{ATTEMPTS_HEADER: attempts}))

    def _retry_later(self, message, headers):
        """Re-publish with the attempt count, then ack the original.

        Both go out on the message's own channel, in order: if the ack reached
        the broker, so did the copy. A crash in between redelivers the original
        too (a duplicate the inbox absorbs), never a loss.
        """
        producer = Producer(message.channel)
        producer.publish(message.body, exchange=retry_exchange(self.container.service_name),
                         routing_key=self.queue.name,
                         headers={k: v for k, v in headers.items() if k != "x-delivery-count"},
                         content_type=message.content_type,
                         content_encoding=message.content_encoding, delivery_mode=2,
                         message_id=message.properties.get("message_id"),
                         type=message.properties.get("type"), retry=False)
        self.queue_consumer.ack_message(message)

    def _dead_letter(self, message):
        # nameko 2.14's QueueConsumer.connection builds a new (unconnected)
        # Connection object, so no "connected" check here: reject on the
        # message's own channel; if that channel is gone the broker redelivers.
        metrics.EVENTS_DEAD_LETTERED.labels(self.container.service_name, self.handler_label).inc()
        message.reject(requeue=False)


event_handler = ReliableEventHandler.decorator


class DeadLetterMonitor(DependencyProvider):
    """Publishes the depth of this service's dead-letter queues as a gauge."""

    interval = 15  # seconds; config DLQ_MONITOR_INTERVAL

    def start(self):
        self.interval = float(self.container.config.get("DLQ_MONITOR_INTERVAL") or self.interval)
        self._stopped = eventlet.event.Event()
        self.container.spawn_managed_thread(self._run, identifier="dlq-monitor")

    def stop(self):
        if not self._stopped.ready():
            self._stopped.send(True)

    kill = stop

    def _run(self):
        from kombu import Connection
        service = self.container.service_name
        queues = [queue_name(src, et, service, m)
                  for m, pairs in CONSUMERS.get(service, {}).items() for src, et in pairs]
        while not self._stopped.ready():
            try:
                with Connection(self.container.config["AMQP_URI"], connect_timeout=5) as conn:
                    channel = conn.channel()
                    queue_type = bus_settings(self.container.config)[1]
                    for q in queues:
                        dlq = dlq_obj(q, queue_type)
                        _, depth, _ = dlq(channel).queue_declare(passive=True)
                        metrics.DLQ_DEPTH.labels(service, dlq.name).set(depth)
            except Exception as exc:  # queue not declared yet, broker away
                log.debug("dlq monitor: %s", exc)
            with eventlet.Timeout(self.interval, False):
                self._stopped.wait()
