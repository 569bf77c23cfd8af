"""Sending the mail outbox (``services.common.mail_outbox``) through a real SMTP server.

A service that writes mails mixes ``MailSender`` in; its timer (``send_mail``, every
``MAIL_SEND_INTERVAL`` seconds, default 5) takes the pending rows that are due, sends
them over one SMTP connection and records each outcome:

- accepted → ``sent`` (address and body dropped, ``crm_mail_sent_total``);
- a 5xx answer (unknown mailbox, refused sender …) is permanent → ``dead`` at once;
- anything else (server down, 4xx, timeout) is transient → retried after
  ``MAIL_RETRY_SECONDS`` × 2^(attempts-1) (at most an hour); after
  ``MAIL_MAX_ATTEMPTS`` (default 8) attempts → ``dead``. Every dead mail counts in
  ``crm_mail_dead_total`` (alert on it like ``crm_events_dead_lettered_total``).

Sending happens outside any transaction and lock (each row's state is read again just
before its send, so a mail an erasure cancelled, or its owner re-addressed, meanwhile is
not sent from the stale copy); marking is one short unit of work. A
crash between the server's "250 accepted" and the mark sends the mail again, with the
same Message-ID (made when the row was written). Logs name rows, kinds and SMTP codes,
never addresses, subjects or bodies.

Configuration (config.yml, environment): ``SMTP_HOST`` (empty: not configured — mails
stay pending, ``crm_mail_unconfigured`` is 1 and one warning is logged per process),
``SMTP_PORT`` (25), ``SMTP_FROM``, ``SMTP_USER`` / ``SMTP_PASSWORD`` (login only when a
user is set), ``SMTP_STARTTLS`` (true/false), ``SMTP_TIMEOUT`` (seconds, 10).

Why the standard library: ``email`` builds correct UTF-8 (zh-CN) MIME messages and
``smtplib`` speaks SMTP with STARTTLS and AUTH; that is all this needs. It runs under
eventlet's green sockets like every other blocking client here, and an extra library
(an async client, a templating mailer) would add a dependency without removing code.
"""
import datetime as dt
import email.policy
import email.utils
import logging
import smtplib
import socket
import ssl
from email.message import EmailMessage

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select, update

from services.common.models import utcnow

log = logging.getLogger(__name__)

MAIL_SENT = Counter("crm_mail_sent_total", "Mails accepted by the SMTP server",
                    ["service", "kind"])
MAIL_FAILED = Counter("crm_mail_send_failures_total",
                      "Mail send attempts that failed (transient or permanent)",
                      ["service", "reason"])
MAIL_DEAD = Counter("crm_mail_dead_total", "Mails given up (status dead)", ["service", "kind"])
MAIL_PENDING = Gauge("crm_mail_pending", "Mails waiting to be sent", ["service"])
MAIL_UNCONFIGURED = Gauge("crm_mail_unconfigured",
                          "1 while no SMTP_HOST is configured (mails stay pending)",
                          ["service"])

BATCH = 50
MAX_BACKOFF = 3600.0
_TRUE = ("1", "true", "yes", "on")
_warned_unconfigured = set()


class SmtpSettings:
    def __init__(self, config):
        c = config or {}
        self.host = str(c.get("SMTP_HOST") or "").strip()
        self.port = int(c.get("SMTP_PORT") or 25)
        self.sender = str(c.get("SMTP_FROM") or "").strip() or "kehu-crm@localhost"
        self.user = str(c.get("SMTP_USER") or "").strip()
        self.password = str(c.get("SMTP_PASSWORD") or "")
        self.starttls = str(c.get("SMTP_STARTTLS") or "").strip().lower() in _TRUE
        self.timeout = float(c.get("SMTP_TIMEOUT") or 10)
        self.max_attempts = max(1, int(c.get("MAIL_MAX_ATTEMPTS") or 8))
        self.retry_seconds = float(c.get("MAIL_RETRY_SECONDS") or 30)

    @property
    def configured(self):
        return bool(self.host)

    def backoff(self, attempts):
        """Seconds before attempt ``attempts + 1`` (``attempts`` already failed)."""
        return min(self.retry_seconds * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def build_message(settings, row):
    """The MIME message of one outbox row (UTF-8 plain text, stable Message-ID)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = settings.sender
    msg["To"] = row.recipient
    msg["Subject"] = row.subject
    msg["Message-ID"] = row.message_id
    msg["Date"] = email.utils.format_datetime(row.created_at or utcnow())
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(row.body or "", charset="utf-8")
    return msg


class Transient(Exception):
    """Try again later (reason: a short label for the metric and the log)."""

    def __init__(self, reason, detail=""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class Permanent(Exception):
    def __init__(self, reason, detail=""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _code_error(code, what):
    """An SMTP reply code → Permanent (5xx) or Transient (anything else)."""
    if 500 <= int(code or 0) < 600:
        return Permanent(f"smtp_{code}", f"{what} refused: {code}")
    return Transient(f"smtp_{code}", f"{what} deferred: {code}")


class SmtpSession:
    """One SMTP connection for a batch (context manager)."""

    def __init__(self, settings):
        self.settings = settings
        self.smtp = None

    def __enter__(self):
        s = self.settings
        try:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.user:
                smtp.login(s.user, s.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise Transient("auth", f"login refused: {exc.smtp_code}") from None
        except smtplib.SMTPResponseException as exc:
            raise Transient(f"smtp_{exc.smtp_code}", f"session refused: {exc.smtp_code}") \
                from None
        except (OSError, smtplib.SMTPException) as exc:
            raise Transient("connect", type(exc).__name__) from None
        self.smtp = smtp
        return self

    def send(self, msg, to):
        try:
            refused = self.smtp.send_message(msg, from_addr=self.settings.sender, to_addrs=[to])
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()), (450, b""))[0]
            raise _code_error(code, "recipient") from None
        except smtplib.SMTPSenderRefused as exc:
            raise _code_error(exc.smtp_code, "sender") from None
        except smtplib.SMTPDataError as exc:
            raise _code_error(exc.smtp_code, "data") from None
        except smtplib.SMTPServerDisconnected:
            raise Transient("disconnected", "server closed the connection") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise Transient("send", type(exc).__name__) from None
        if refused:
            code = next(iter(refused.values()))[0]
            raise _code_error(code, "recipient")

    def __exit__(self, *exc):
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()


def pending_count(db, model):
    with db.read_uow() as ro:
        return ro.connection.scalar(select(func.count(model.id)).where(
            model.status == "pending")) or 0


def send_pending(db, model, config, service, now=None, batch=BATCH):
    """Send the pending mails that are due → {sent, retry, dead, pending}. ``db`` is the
    service's ``Database`` access (``self.db``)."""
    settings = SmtpSettings(config)
    now = now or dt.datetime.now(dt.UTC)
    out = {"sent": 0, "retry": 0, "dead": 0}
    if not settings.configured:
        count = pending_count(db, model)
        MAIL_UNCONFIGURED.labels(service).set(1)
        MAIL_PENDING.labels(service).set(count)
        if count and service not in _warned_unconfigured:
            _warned_unconfigured.add(service)
            log.warning("%s: %d mail(s) pending and SMTP_HOST is not configured: they "
                        "stay in mail_outbox until it is (docs/mail.md)", service, count)
        return dict(out, pending=count)
    MAIL_UNCONFIGURED.labels(service).set(0)
    with db.read_uow() as ro:
        rows = ro.session.scalars(select(model).where(
            model.status == "pending", model.next_attempt_at <= now)
            .order_by(model.next_attempt_at, model.id).limit(batch)).all()
        ro.session.expunge_all()
    if rows:
        results = _send_rows(settings, rows, service, lambda row: _unchanged(db, model, row))
        _record(db, model, settings, rows, results, service, out)
    MAIL_PENDING.labels(service).set(pending_count(db, model))
    return dict(out, pending=pending_count(db, model))


def _unchanged(db, model, row):
    """True if ``row`` is still pending for the same address: a mail cancelled (an
    erasure) or re-addressed since the batch was read is not sent from the old copy."""
    with db.read_uow() as ro:
        now = ro.connection.execute(select(model.status, model.recipient).where(
            model.id == row.id)).first()
    return now is not None and tuple(now) == ("pending", row.recipient)


def _send_rows(settings, rows, service, unchanged=None):
    """{row id: None (accepted) | Transient | Permanent}; a failed connection defers
    the whole batch. ``unchanged(row)`` is asked just before each send: a row it says
    changed is skipped (left as it is, the next run reads it again)."""
    results = {}
    try:
        with SmtpSession(settings) as session:
            for row in rows:
                if unchanged is not None and not unchanged(row):
                    continue
                try:
                    session.send(build_message(settings, row), row.recipient)
                    results[row.id] = None
                except (Transient, Permanent) as exc:
                    results[row.id] = exc
                    if isinstance(exc, Transient) and exc.reason in ("disconnected", "send"):
                        break  # the connection is gone: the rest waits for the next run
    except Transient as exc:
        log.warning("%s: SMTP server %s:%s unavailable (%s): %d mail(s) wait", service,
                    settings.host, settings.port, exc.detail or exc.reason,
                    len(rows) - len(results))
        for row in rows:
            results.setdefault(row.id, exc)
    return results  # rows missing here were not tried: left as they are


def _record(db, model, settings, rows, results, service, out):
    now = dt.datetime.now(dt.UTC)
    with db.uow() as uow:
        conn = uow.connection
        for row in rows:
            if row.id not in results:
                continue
            res = results[row.id]
            if res is None:
                values = {"status": "sent", "sent_at": now, "attempts": row.attempts + 1,
                          "recipient": None, "body": None, "last_error": None}
                MAIL_SENT.labels(service, row.kind).inc()
                out["sent"] += 1
                log.info("%s: mail %s (%s) sent", service, row.id, row.kind)
            else:
                attempts = row.attempts + 1
                MAIL_FAILED.labels(service, res.reason).inc()
                dead = isinstance(res, Permanent) or attempts >= settings.max_attempts
                values = {"attempts": attempts, "last_error": (res.detail or res.reason)[:200]}
                if dead:
                    values.update(status="dead", recipient=None, body=None)
                    MAIL_DEAD.labels(service, row.kind).inc()
                    out["dead"] += 1
                    log.error("%s: mail %s (%s) given up after %d attempt(s): %s", service,
                              row.id, row.kind, attempts, res.reason)
                else:
                    values["next_attempt_at"] = now + dt.timedelta(
                        seconds=settings.backoff(attempts))
                    out["retry"] += 1
                    log.info("%s: mail %s (%s) attempt %d failed (%s), retried later",
                             service, row.id, row.kind, attempts, res.reason)
            conn.execute(update(model).where(model.id == row.id, model.status == "pending")
                         .values(**values))
        uow.commit()


def mail_timer(interval=5, config_key="MAIL_SEND_INTERVAL"):
    """nameko's @timer whose interval ``config_key`` may override (tests: 0.2 s)."""
    from nameko.timer import Timer

    class _Timer(Timer):
        def setup(self):
            value = self.container.config.get(config_key)
            if value not in (None, ""):
                self.interval = float(value)

    return _Timer.decorator(interval)


class MailSender:
    """Mixin for a DomainService whose models declare ``mail_outbox``: the send timer.
    The service sets ``mail_model`` (its ``MailOutbox``)."""

    mail_model = None

    @mail_timer()
    def send_mail(self):
        return send_pending(self.db, self.mail_model, self.config, self.name)


def check_socket(host, port, timeout=1.0):
    """True if something listens on host:port (the dev catcher's start-up check)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
