"""Listen to a service's events exchange in a test (a private, auto-deleted queue)."""
import json
import time
import uuid

import eventlet
from kombu import Connection, Queue

from services.common.contract_bus import events_exchange_obj


class EventTap:
    def __init__(self, amqp_uri, source, types):
        self.uri = amqp_uri
        self.exchange = events_exchange_obj(source)
        self.types = types or ("#",)
        self.events = []
        self._stop = False
        self._ready = eventlet.event.Event()
        self._thread = None

    def start(self):
        self._thread = eventlet.spawn(self._run)
        self._ready.wait()

    def _run(self):
        name = f"test-tap-{uuid.uuid4().hex[:8]}"
        with Connection(self.uri) as conn:
            queue = Queue(name, exchange=self.exchange, routing_key=self.types[0],
                          exclusive=True, auto_delete=True, durable=False)
            channel = conn.channel()
            bound = queue(channel)
            bound.declare()
            for t in self.types[1:]:
                bound.bind_to(self.exchange, routing_key=t)
            self._ready.send(True)
            while not self._stop:
                msg = bound.get(no_ack=True)
                if msg is None:
                    eventlet.sleep(0.02)
                    continue
                body = msg.body if isinstance(msg.body, (bytes, str)) else msg.payload
                self.events.append(json.loads(body) if isinstance(body, (bytes, str)) else body)

    def of_type(self, event_type):
        return [e for e in self.events if e["type"] == event_type]

    def wait_for(self, count, event_type=None, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.of_type(event_type) if event_type else self.events
            if len(got) >= count:
                return got
            eventlet.sleep(0.05)
        got = self.of_type(event_type) if event_type else self.events
        raise AssertionError(f"expected {count} {event_type or 'events'}, got {len(got)}")

    def settle(self, seconds=1.0):
        """Wait a little longer to prove nothing more arrives."""
        eventlet.sleep(seconds)
        return list(self.events)

    def stop(self):
        self._stop = True
        if self._thread is not None:
            self._thread.wait()
