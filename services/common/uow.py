"""The unit of work and the ``Database`` dependency provider.

    with self.db.uow() as uow:
        customer = domain.create(uow.session, data)
        uow.emit("customer_created", payload)
        uow.commit()

Events emitted inside the unit of work are written to the outbox in the same
transaction; nothing commits unless ``commit()`` is called. After a commit the
relay is woken so the events leave within milliseconds.
"""
import contextlib
import datetime as dt
import uuid

from nameko.extensions import DependencyProvider
from sqlalchemy import select

from services.common import metrics
from services.common.actors import actor_from_context
from services.common.config import db_url
from services.common.db import GreenLock, is_sqlite, make_engine, make_sessionmaker
from services.common.relay import Relay

EVENT_VERSION = 1


def make_envelope(source, event_type, data, actor_id=None, occurred_at=None):
    occurred_at = occurred_at or dt.datetime.now(dt.timezone.utc)
    return {
        "event_id": str(uuid.uuid4()),
        "type": event_type,
        "version": EVENT_VERSION,
        "occurred_at": occurred_at.astimezone(dt.timezone.utc).isoformat(),
        "source": source,
        "actor_id": actor_id,
        "data": data,
    }


class UnitOfWork:
    def __init__(self, db, session, actor_id, handler):
        self._db = db
        self.session = session
        self.actor_id = actor_id
        self.handler = handler
        self._emitted = 0
        self.committed = False

    def emit(self, event_type, data, occurred_at=None):
        """Queue an event in the outbox, in this transaction."""
        env = make_envelope(self._db.service_name, event_type, data, self.actor_id, occurred_at)
        self.session.add(self._db.base.Outbox(
            event_id=env["event_id"], event_type=event_type, envelope=env))
        self._emitted += 1
        return env

    def already_applied(self, envelope):
        """Inbox check for event handlers: True (and counted) if seen before,
        else records (event_id, handler) in this transaction."""
        Inbox = self._db.base.Inbox
        seen = self.session.scalar(select(Inbox.id).where(
            Inbox.event_id == str(envelope["event_id"]), Inbox.handler == self.handler))
        if seen is not None:
            metrics.EVENTS_DUPLICATE.labels(self._db.service_name, self.handler).inc()
            return True
        self.session.add(Inbox(event_id=str(envelope["event_id"]), handler=self.handler,
                               event_type=envelope.get("type", "")))
        self.session.flush()
        return False

    def commit(self):
        self.session.commit()
        self.committed = True
        if self._emitted:
            self._db.relay.wake()

    def rollback(self):
        self.session.rollback()


class Database(DependencyProvider):
    """The service's own database, its outbox relay and its unit of work."""

    def __init__(self, base):
        self.base = base

    def setup(self):
        self.service_name = self.container.service_name
        config = self.container.config
        self.url = db_url(config, self.service_name)
        self.engine = make_engine(self.url)
        self.Session = make_sessionmaker(self.engine)
        self.lock = GreenLock(is_sqlite(self.url))
        self.relay = Relay(self.service_name, self.base.Outbox, self.Session, self.lock,
                           config["AMQP_URI"], postgres=not is_sqlite(self.url))

    def start(self):
        self.container.spawn_managed_thread(self.relay.run, identifier="outbox-relay")

    def stop(self):
        self.relay.stop()

    def kill(self):
        self.relay.stop()

    @contextlib.contextmanager
    def unit_of_work(self, actor_id=None, handler=None):
        with self.lock.held():
            session = self.Session()
            uow = UnitOfWork(self, session, actor_id, handler)
            try:
                yield uow
            finally:
                if not uow.committed:
                    session.rollback()
                session.close()

    def get_dependency(self, worker_ctx):
        return _DbAccess(self, worker_ctx)


class _DbAccess:
    def __init__(self, db, worker_ctx):
        self._db = db
        self._ctx = worker_ctx

    def uow(self):
        actor = actor_from_context(self._ctx.data)
        handler = f"{self._ctx.service_name}.{self._ctx.entrypoint.method_name}"
        return self._db.unit_of_work(actor.id, handler)

    @property
    def engine(self):
        return self._db.engine

    @property
    def relay(self):
        return self._db.relay
