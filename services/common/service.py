"""What every domain service has, in one place: the calling actor, config,
metrics (served on METRICS_PORT), dead-letter-queue depth, and the decorator
for RPC methods whose declared errors are the caller's fault, not alerts.

    class SalesService(DomainService):
        name = "sales"
        db = Database(Base)

        @_rpc
        def create_lead(self, data, at=None): ...
"""
import functools
import inspect
import json
import logging

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.dependency_providers import Config
from nameko.exceptions import ContainerBeingKilled, MalformedRequest
from nameko.rpc import Rpc
from nameko.timer import timer

from services.common import wire
from services.common.actors import AUTH_KEY, CONTEXT_KEY, CurrentActor
from services.common.bus_identity import ServiceIdentity, authenticate
from services.common.errors import Forbidden, Unauthorized, ValidationError
from services.common.handlers import DeadLetterMonitor
from services.common.metrics import RPC_REFUSED, Metrics
from services.common.replies import ReplyRpcConsumer

log = logging.getLogger(__name__)
_BROKER_GONE = (OSError, OperationalError, AmqpConnectionError)


class ResilientRpc(Rpc):
    """nameko's ``@rpc``, except that a reply that cannot be published because
    the broker went away does not kill the whole service container (nameko
    2.14 lets that error escape the worker). The request stays unacked, so the
    broker redelivers it once the consumer reconnects; the caller, whose reply
    queue also went away, sees its own timeout or connection error. Replies go
    out unconfirmed (``services.common.replies``)."""

    rpc_consumer = ReplyRpcConsumer()

    def handle_message(self, body, message):
        """nameko's, with the caller's identity verified first (before the arguments
        are even looked at): the worker's actor is what the token says; a call
        without a valid identity is answered ``Unauthorized`` and no worker runs
        (``services.common.bus_identity``)."""
        context_data = self.unpack_message_headers(message)
        service = self.container.service_name
        try:
            actor = authenticate(self.container.config, service, self.method_name,
                                 context_data)
        except Unauthorized as exc:
            reason = ("missing" if AUTH_KEY not in context_data
                      else "expired" if "expired" in exc.message else "invalid")
            RPC_REFUSED.labels(service, self.method_name, reason).inc()
            log.info("refused %s.%s: %s", service, self.method_name, exc.message)
            raise
        context_data[CONTEXT_KEY] = json.dumps(actor, sort_keys=True)
        try:
            args = body["args"]
            kwargs = body["kwargs"]
        except (KeyError, TypeError):
            raise MalformedRequest("Message missing `args` or `kwargs`") from None
        self.check_signature(args, kwargs)
        handle_result = functools.partial(self.handle_result, message)
        try:
            self.container.spawn_worker(self, args, kwargs, context_data=context_data,
                                        handle_result=handle_result)
        except ContainerBeingKilled:
            self.rpc_consumer.requeue_message(message)

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except _BROKER_GONE as exc:
            log.warning("reply of %s not sent, broker unavailable: %r",
                        worker_ctx.call_id, exc)
            return result, exc_info


def declared_rpc(expected):
    """An ``@rpc`` decorator with ``expected_exceptions=expected``, whose arguments
    are checked first for values no column can hold (``services.common.wire``):
    a 20-digit id or a lone surrogate is a ValidationError, not an internal error."""

    def decorate(fn):
        params = list(inspect.signature(fn).parameters)[1:]  # without self

        @functools.wraps(fn)
        def checked(self, *args, **kwargs):
            bad = {}
            for name, value in [*zip(params, args, strict=False), *kwargs.items()]:
                bad.update(wire.problems(value, "_body" if isinstance(value, dict) else name))
            if bad:
                raise ValidationError("Invalid input", bad)
            return fn(self, *args, **kwargs)
        return ResilientRpc.decorator(expected_exceptions=expected)(checked)

    return decorate


class DomainService:
    actor = CurrentActor()
    identity = ServiceIdentity()  # event handlers and timers act as this service
    config = Config()
    metrics = Metrics()
    dlq_monitor = DeadLetterMonitor()

    # --- the audit trail (services.common.audit), the same RPCs in every service ---------
    @declared_rpc((ValidationError, Forbidden))
    def verify_audit(self, record_type=None, record_id=None, checkpoint=None):
        """Verify the audit chain: one record's entries (``record_type`` + ``record_id``)
        or the whole service → {valid, entries, first_bad_seq, first_bad_index?, problem}.
        ``checkpoint``: a head signed earlier (``audit_checkpoint``) that must still hold.
        Managers and system callers."""
        self._audit_reader()
        if (record_type is None) != (record_id is None):
            raise ValidationError("Invalid input", {"record_id": ["give both or neither"]})
        with self.db.read_uow() as ro:
            audit = self.db.audit
            if record_type is None:
                return audit.verify_chain(ro.connection, checkpoint)
            return audit.verify_record(ro.connection, str(record_type), str(record_id),
                                       checkpoint)

    @declared_rpc((ValidationError, Forbidden))
    def audit_trail(self, record_type, record_id):
        """Who changed a record when, and what (contact values masked). Managers."""
        self._audit_reader()
        with self.db.read_uow() as ro:
            return self.db.audit.trail(ro.connection, str(record_type), str(record_id))

    @declared_rpc((ValidationError, Forbidden))
    def audit_checkpoint(self):
        """The chain's head signed with the audit key ({service, seq, hash, at, mac}):
        kept outside this database it later proves that no tail was removed."""
        self._audit_reader()
        with self.db.read_uow() as ro:
            return self.db.audit.checkpoint(ro.connection)

    @timer(interval=1)
    def flush_audit_reads(self):
        """Append the reads of full contact data and the exports noted since the last
        tick (``Auditor.note_read``; nothing is written when there were none)."""
        auditor = self.db.audit
        if not auditor.pending:
            return
        entries = auditor.take_pending()
        try:
            with self.db.uow() as uow:
                uow.audit(entries)
                uow.commit()
        except Exception:
            auditor.pending[:0] = entries  # kept for the next tick
            raise

    @timer(interval=1)
    def publish_audit_checkpoint(self):
        """Anchor the tail a quiet period would leave unanchored: once no checkpoint
        went out for ``AUDIT_CHECKPOINT_SECONDS`` and the chain's head has moved past
        the last one published, the signed current head goes out as ``audit_checkpoint``
        through the outbox, as a write's does (``Database.publish_quiet_head``); nothing
        when the head has not moved, nor where checkpoints are off (-1) or not kept."""
        self.db.publish_quiet_head()

    def _audit_reader(self):
        actor = self.actor.get()
        if actor.anonymous or not actor.is_manager:
            raise Forbidden("managers only")
