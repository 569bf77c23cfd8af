"""Group commit for reporting's event handler: many events, one transaction.

Every ``apply_event`` worker hands its envelope to the container's
``GroupCommit`` and blocks until the transaction holding it has committed, so a
message is still acked only after its effect is durable (the kit acks when the
worker returns). Workers queue their envelope, then take the commit lock; the
one that gets it applies *every* queued envelope in one unit of work, commits,
and hands each waiting worker its result. While it commits, newly delivered
messages queue up for the next holder: batches grow with the load (up to the
container's ``max_workers`` in flight) and shrink to one event when idle.

If a batch fails, nothing of it is committed and each of its envelopes is
applied again in its own unit of work: only the bad one raises, in its own
worker, and takes the kit's retry / dead-letter path. On SIGTERM nameko lets
running workers finish: the waiting ones are served by the lock holder (or
take the lock themselves), so every in-flight event commits and is acked.
"""
import eventlet
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider


class _Item:
    __slots__ = ("envelope", "done", "result", "error")

    def __init__(self, envelope):
        self.envelope = envelope
        self.done = False
        self.result = None
        self.error = None


class GroupCommit:
    def __init__(self, max_batch=200):
        self.max_batch = max_batch
        self._queue = []
        self._lock = Semaphore(1)
        self.batches = 0  # counters for tests and the bench
        self.events = 0
        self.fallbacks = 0
        self.origins = {}  # event_id -> when it reached us (see receipt.py), for the lag

    def submit(self, envelope, apply_many):
        """Apply ``envelope`` (with whatever else is queued) through
        ``apply_many(envelopes) -> results`` (one transaction, committed on
        return); returns this envelope's result or raises its error."""
        item = _Item(envelope)
        self._queue.append(item)
        with self._lock:
            if not item.done:
                eventlet.sleep(0)  # let workers of messages already received queue up
            while not item.done:
                batch = self._queue[:self.max_batch]
                del self._queue[:self.max_batch]
                self._run(batch, apply_many)
        if item.error is not None:
            raise item.error
        return item.result

    def _run(self, batch, apply_many):
        try:
            results = apply_many([i.envelope for i in batch])
        except Exception as exc:  # noqa: BLE001 - re-applied one by one below
            if len(batch) == 1:
                batch[0].error, batch[0].done = exc, True
                return
            self.fallbacks += 1
            for i in batch:
                self._run([i], apply_many)
            return
        self.batches += 1
        self.events += len(batch)
        for i, r in zip(batch, results, strict=True):
            i.result, i.done = r, True


class GroupCommitProvider(DependencyProvider):
    """One ``GroupCommit`` per service container."""

    def setup(self):
        self.group = GroupCommit()

    def get_dependency(self, worker_ctx):
        return self.group
