"""The outbox relay: publishes committed events in order, with confirms.

Each row is published to ``<service>.events`` (routing key = event type) as a
persistent message with ``mandatory=True`` on a channel in confirm mode; the
row is marked sent only after the broker confirmed it and did not return it
as unroutable. A crash between publish and mark means the event is published
again on restart (at-least-once); consumers deduplicate with their inbox.

Confirms are pipelined: a batch is published without waiting between
messages, then the relay reads the broker's acks (RabbitMQ acks many tags at
once with ``multiple``) and marks the leading run of confirmed rows. Waiting
for each confirm before the next publish cost a round trip and two socket
wake-ups per event. A nack, a return or a timeout ends the run there: the
rest stays unsent and is published again (the inbox absorbs the repeats).

On PostgreSQL a transaction-scoped advisory lock makes one relay at a time
publish, so several processes of one service keep the order. On SQLite the
embedded default runs one process per service.
"""
import datetime as dt
import logging
import time
import zlib

import eventlet
import eventlet.event
from eventlet.queue import Empty, LightQueue
from kombu import Connection, Producer
from sqlalchemy import func, select, update

from services.common import metrics
from services.common.contract_bus import events_exchange_obj

log = logging.getLogger(__name__)
STOP_GRACE = 15  # seconds stop() waits for the batch in hand
# messages published before their confirms are read: a whole 200-row batch at once
# filled the socket and cost the writing service CPU (import: 0.36 vs 0.28 ms per row)
WINDOW = 20
# the backlog gauges (a COUNT over the outbox) are recounted at most this often while
# the relay is busy; a pass that reads an empty outbox sets them to 0 without a query
GAUGE_INTERVAL = 1.0


class Relay:
    def __init__(self, service, outbox_model, session_factory, lock, amqp_uri,
                 postgres=False, batch_size=200, interval=0.5):
        self.service = service
        self.Outbox = outbox_model
        self.Session = session_factory
        self.lock = lock
        self.amqp_uri = amqp_uri
        self.postgres = postgres
        self.batch_size = batch_size
        self.interval = interval
        self.exchange = events_exchange_obj(service)
        self._wakeups = LightQueue(maxsize=1)
        self._stopped = False
        self._running = None
        self._finished = eventlet.event.Event()
        self._conn = None
        self._producer = None
        self._returned = set()
        self._tag, self._confirms = 0, {}  # last delivery tag sent; tag -> ack/nack/None
        self._lock_key = zlib.crc32(f"outbox-relay:{service}".encode())
        self._gauges_at = float("-inf")  # when the backlog gauges were last set

    # --- lifecycle ----------------------------------------------------------
    def wake(self):
        try:
            self._wakeups.put_nowait(1)
        except eventlet.queue.Full:
            pass

    def stop(self, grace=STOP_GRACE):
        """Stop after the batch in hand: its confirmed rows are marked sent before
        the connection closes (closing it under a running batch, then killing the
        thread, left published rows unmarked: re-published on restart)."""
        self._stopped = True
        self.wake()
        if self._running is not None and self._running is not eventlet.getcurrent():
            with eventlet.Timeout(grace, False):
                self._finished.wait()
        self._close()

    def run(self):
        self._running = eventlet.getcurrent()
        try:
            self._run()
        finally:
            self._running = None
            if not self._finished.ready():
                self._finished.send(True)

    def _run(self):
        failures = 0
        while not self._stopped:
            try:
                self.drain()
                failures = 0
            except Exception:  # broker or DB away: keep rows, retry with backoff
                failures += 1
                metrics.OUTBOX_ERRORS.labels(self.service).inc()
                log.warning("outbox relay of %s failed (attempt %s)", self.service, failures,
                            exc_info=failures == 1)
                self._close()
                backoff_until = time.monotonic() + min(0.2 * 2 ** failures, 5)
                while not self._stopped and time.monotonic() < backoff_until:
                    eventlet.sleep(0.1)  # commits do not cut the backoff short; stop() does
                continue
            self._pause(self.interval)

    def _pause(self, seconds):
        """Sleep until woken (a commit, stop()) or ``seconds`` passed."""
        try:
            self._wakeups.get(timeout=seconds)
        except Empty:
            pass

    # --- publishing ---------------------------------------------------------
    def _connect(self):
        if self._producer is None:
            self._conn = Connection(self.amqp_uri, connect_timeout=5)
            self._conn.ensure_connection(max_retries=1)
            channel = self._conn.channel()
            channel.confirm_select()
            channel.events["basic_ack"].add(lambda tag, multiple: self._settle(tag, multiple, True))
            channel.events["basic_nack"].add(
                lambda tag, multiple: self._settle(tag, multiple, False))
            self._producer = Producer(channel, on_return=self._on_return)
            self._tag, self._confirms = 0, {}  # delivery tags count per channel from 1
        return self._producer

    def _close(self):
        conn, self._conn, self._producer = self._conn, None, None
        if conn is not None:
            try:
                conn.release()
            except Exception:  # already broken
                pass

    def _on_return(self, exc, exchange, routing_key, message):
        self._returned.add(message.properties.get("message_id"))

    def _settle(self, tag, multiple, ok):
        """A broker ack/nack for ``tag`` (and, with ``multiple``, every tag before it)."""
        if multiple:
            for t in [t for t, state in self._confirms.items() if state is None and t <= tag]:
                self._confirms[t] = ok
        elif tag in self._confirms:
            self._confirms[tag] = ok

    def publish(self, envelope):
        """Send one envelope (no wait); returns its delivery tag for ``wait_confirms``."""
        producer = self._connect()
        producer.publish(
            envelope, exchange=self.exchange, routing_key=envelope["type"],
            serializer="json", delivery_mode=2, mandatory=True, retry=False,
            timeout=10,  # a blocked or half-open connection must not hang the relay
            message_id=envelope["event_id"], type=envelope["type"],
            # when the relay sent it: consumers measure their lag from here, not from
            # occurred_at (which a back-dated event sets in the past); nameko hands
            # "nameko."-prefixed headers to the worker as context data
            headers={"crm.source": self.service,
                     "nameko.crm_published_at": dt.datetime.now(dt.timezone.utc).isoformat()})
        self._tag += 1
        self._confirms[self._tag] = None
        return self._tag

    def wait_confirms(self, tags, timeout=10):
        """Read acks until every tag is settled: {tag: True (ack) / False (nack)}.
        Raises ``TimeoutError`` if the broker does not answer in time."""
        deadline = time.monotonic() + timeout
        while any(self._confirms.get(t) is None for t in tags):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no publisher confirm within {timeout}s")
            self._conn.drain_events(timeout=remaining)
        return {t: self._confirms.pop(t) for t in tags}

    def _routed(self, envelope):
        event_id = envelope["event_id"]
        if event_id not in self._returned:
            return True
        self._returned.discard(event_id)
        metrics.OUTBOX_UNROUTABLE.labels(self.service).inc()
        log.error("event %s (%s) is unroutable: run `crm bus setup`", event_id, envelope["type"])
        return False

    def drain(self):
        """Publish every pending row, batch by batch. Returns how many were sent."""
        total = sent = 0
        read = None
        while not self._stopped:
            sent, read = self._drain_batch()
            total += sent
            if sent < self.batch_size:
                break
        if read is not None and sent == read < self.batch_size:
            # the last read took every pending row and all were sent: the outbox was
            # empty as of that read (later commits wake the relay again), no COUNT needed
            self._set_gauges(0, None)
        elif time.monotonic() - self._gauges_at >= GAUGE_INTERVAL:
            self._update_gauges()
        return total

    def _drain_batch(self):
        """Publish one batch → (rows sent, pending rows read); read is None when
        another process holds the PostgreSQL relay lock."""
        Out = self.Outbox
        pending = select(Out.id, Out.envelope).where(Out.sent_at.is_(None)).order_by(Out.id)
        pending = pending.limit(self.batch_size)
        if self.postgres:
            with self.Session() as session, session.begin():
                got = session.scalar(select(func.pg_try_advisory_xact_lock(self._lock_key)))
                if not got:
                    return 0, None
                rows = session.execute(pending).all()
                done = []
                try:
                    self._publish_rows(rows, done)
                except Exception:
                    self._mark_sent(session, done)  # keep the progress, then fail
                    session.commit()
                    raise
                self._mark_sent(session, done)
            return len(done), len(rows)
        with self.lock.held(), self.Session() as session, session.begin():
            rows = session.execute(pending).all()
        if not rows:
            return 0, 0
        done = []
        try:
            self._publish_rows(rows, done)
        finally:
            if done:
                with self.lock.held(), self.Session() as session, session.begin():
                    self._mark_sent(session, done)
        return len(done), len(rows)

    def _publish_rows(self, rows, done):
        """Publish the batch in windows of ``WINDOW`` (each published, then its
        confirms read), appending to ``done``, in order, the ids of the rows the
        broker confirmed and routed, up to the first that it did not. What was sent
        before a failure part-way is still confirmed and recorded."""
        for start in range(0, len(rows), WINDOW):
            if not self._publish_window(rows[start:start + WINDOW], done):
                return

    def _publish_window(self, rows, done):
        inflight, complete = [], True
        try:
            for row_id, envelope in rows:
                inflight.append((self.publish(envelope), row_id, envelope))
        finally:
            if inflight:
                confirmed = self.wait_confirms([tag for tag, _, _ in inflight])
                before = len(done)
                for tag, row_id, envelope in inflight:
                    if not confirmed[tag]:
                        log.warning("broker nacked event %s: it stays in the outbox",
                                    envelope["event_id"])
                        complete = False
                        break
                    if not self._routed(envelope):
                        complete = False
                        break  # keep order: stop at the first unroutable event
                    done.append(row_id)
                for _, _, envelope in inflight:  # the rest goes again: forget its returns
                    self._returned.discard(envelope["event_id"])
                metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(done) - before)
        return complete

    def _mark_sent(self, session, ids):
        if ids:
            now = dt.datetime.now(dt.timezone.utc)
            session.execute(update(self.Outbox).where(self.Outbox.id.in_(ids)).values(sent_at=now))

    def _update_gauges(self):
        Out = self.Outbox
        with self.lock.held(), self.Session() as session:
            count, oldest = session.execute(
                select(func.count(Out.id), func.min(Out.created_at))
                .where(Out.sent_at.is_(None))).one()
            session.rollback()
        self._set_gauges(count, oldest)

    def _set_gauges(self, count, oldest):
        self._gauges_at = time.monotonic()
        metrics.OUTBOX_BACKLOG.labels(self.service).set(count)
        age = 0.0
        if oldest is not None:
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=dt.timezone.utc)
            age = (dt.datetime.now(dt.timezone.utc) - oldest).total_seconds()
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(max(age, 0.0))


