"""The mail kit (services/common/mail*.py): addresses, messages, backoff, how SMTP
answers are classified, and the outbox on a real SQLite database sent to a real SMTP
server (the dev catcher in its own process)."""
import datetime as dt
import email
import email.policy
import uuid
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from services.common import mail
from services.common.config import load_config
from services.common.mail_outbox import declare_mail_outbox, is_email, queue_mail
from services.common.models import declare_base
from services.common.uow import Database
from tests.support.fixtures import free_port
from tests.support.smtp_catcher import SmtpCatcher

Base = declare_base()
Mail = declare_mail_outbox(Base)
SERVICE = f"mailtest{uuid.uuid4().hex[:6]}"


@pytest.mark.parametrize("value,ok", [
    ("zhang.san@example.com", True), ("a+b@mail.example.cn", True),
    ("a@b", False), ("no-at.example.com", False), ("a b@example.com", False),
    ("x@example.com, y@example.com", False), ("<x@example.com>", False),
    ("x@example.com\nBcc: y@example.com", False), ("", False), (None, False), (42, False),
    ("13812345678", False), ("x" * 250 + "@example.com", False)])
def test_is_email(value, ok):
    assert is_email(value) is ok


def test_backoff_doubles_and_is_capped():
    s = mail.SmtpSettings({"MAIL_RETRY_SECONDS": 30})
    assert [s.backoff(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert s.backoff(20) == 3600


def test_settings_unconfigured_without_host():
    assert not mail.SmtpSettings({}).configured
    assert not mail.SmtpSettings({"SMTP_HOST": "  "}).configured
    s = mail.SmtpSettings({"SMTP_HOST": "smtp.example.com", "SMTP_PORT": "587",
                           "SMTP_STARTTLS": "true", "MAIL_MAX_ATTEMPTS": "3"})
    assert (s.configured, s.port, s.starttls, s.max_attempts) == (True, 587, True, 3)


def test_message_is_utf8_with_the_rows_message_id():
    row = SimpleNamespace(recipient="li@example.com", subject="【跟进提醒】华东项目",
                          message_id="<abc.sales@kehu-crm.mail>", body="您好，\n跟进事项：报价",
                          created_at=None)
    raw = mail.build_message(mail.SmtpSettings({"SMTP_FROM": "CRM <crm@kehu.test>"}),
                             row).as_bytes()
    back = email.message_from_bytes(raw, policy=email.policy.default)
    assert back["Message-ID"] == "<abc.sales@kehu-crm.mail>"
    assert back["Subject"] == "【跟进提醒】华东项目" and back["To"] == "li@example.com"
    assert back.get_content().replace("\r\n", "\n").startswith("您好，\n跟进事项：报价")
    assert back["Auto-Submitted"] == "auto-generated"


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    catcher = SmtpCatcher(tmp_path_factory.mktemp("mail"), free_port()).start()
    yield catcher
    catcher.stop()


def test_smtp_answers_classified(smtp):
    settings = mail.SmtpSettings({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port})
    row = SimpleNamespace(recipient="x@bounce.test", subject="s", message_id="<1@t>",
                          body="b", created_at=None)
    with mail.SmtpSession(settings) as session:
        with pytest.raises(mail.Permanent) as err:  # the catcher answers 550
            session.send(mail.build_message(settings, row), row.recipient)
        assert err.value.reason == "smtp_550"
    down = mail.SmtpSettings({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": free_port(),
                              "SMTP_TIMEOUT": 2})
    with pytest.raises(mail.Transient) as err:  # nobody listens
        with mail.SmtpSession(down):
            pass
    assert err.value.reason == "connect"


@pytest.fixture
def db(tmp_path):
    cfg = load_config()
    cfg["DB_URIS"] = {SERVICE: f"sqlite:///{tmp_path}/mail.db"}
    d = Database(Base)
    d.container = SimpleNamespace(service_name=SERVICE, config=cfg)
    d.setup()
    Base.metadata.create_all(d.engine)
    access = SimpleNamespace(uow=lambda: d.unit_of_work(None, "test"),
                             read_uow=d.read_unit_of_work)
    yield access
    d.engine.dispose()


def _queue(db, to, subject="测试", body="正文"):
    with db.uow() as uow:
        row = queue_mail(uow, Mail, to, subject, body, "test", ref="t:1")
        uow.commit()
        return row.id


def _row(db, row_id):
    with db.read_uow() as ro:
        return ro.session.scalar(select(Mail).where(Mail.id == row_id))


def _gauge(name):
    return REGISTRY.get_sample_value(name, {"service": SERVICE})


def test_no_smtp_keeps_mail_pending_and_says_so(db, caplog):
    row_id = _queue(db, "wang@example.com")
    for _ in range(2):
        out = mail.send_pending(db, Mail, {}, SERVICE)
    assert out == {"sent": 0, "retry": 0, "dead": 0, "pending": 1}
    row = _row(db, row_id)
    assert row.status == "pending" and row.attempts == 0
    assert _gauge("crm_mail_unconfigured") == 1 and _gauge("crm_mail_pending") == 1
    warned = [r for r in caplog.records if "SMTP_HOST is not configured" in r.getMessage()]
    assert len(warned) == 1  # once per process, not every tick
    assert "wang@example.com" not in caplog.text


def test_sent_once_then_resent_with_the_same_message_id(db, smtp, caplog):
    to = f"r{uuid.uuid4().hex[:6]}@example.com"
    row_id = _queue(db, to, body="机密正文 secret-body")
    cfg = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port}
    assert mail.send_pending(db, Mail, cfg, SERVICE)["sent"] == 1
    assert mail.send_pending(db, Mail, cfg, SERVICE)["sent"] == 0  # nothing left
    row = _row(db, row_id)
    assert row.status == "sent" and row.recipient is None and row.body is None
    assert row.recipient_masked == f"{to[0]}***@example.com"
    got = smtp.messages(to)
    assert len(got) == 1 and got[0]["Message-ID"] == row.message_id
    assert to not in caplog.text and "secret-body" not in caplog.text
    # a crash after the server accepted it but before the mark: the row is pending again
    with db.uow() as uow:
        r = uow.session.get(Mail, row_id)
        r.status, r.recipient, r.body = "pending", to, "机密正文 secret-body"
        uow.commit()
    mail.send_pending(db, Mail, cfg, SERVICE)
    again = smtp.messages(to)
    assert len(again) == 2 and again[1]["Message-ID"] == again[0]["Message-ID"]


def test_transient_failures_retry_with_backoff_then_dead(db):
    row_id = _queue(db, "zhao@example.com")
    before = REGISTRY.get_sample_value("crm_mail_dead_total",
                                       {"service": SERVICE, "kind": "test"}) or 0
    cfg = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": free_port(), "SMTP_TIMEOUT": 1,
           "MAIL_MAX_ATTEMPTS": 3, "MAIL_RETRY_SECONDS": 60}
    out = mail.send_pending(db, Mail, cfg, SERVICE)
    assert out["retry"] == 1
    row = _row(db, row_id)
    assert row.status == "pending" and row.attempts == 1 and row.recipient
    assert 55 <= (row.next_attempt_at - row.created_at).total_seconds() <= 70
    assert mail.send_pending(db, Mail, cfg, SERVICE)["retry"] == 0  # not due yet
    later = row.next_attempt_at
    mail.send_pending(db, Mail, cfg, SERVICE, now=later + dt.timedelta(seconds=1))
    row = _row(db, row_id)
    assert row.attempts == 2 and row.status == "pending"
    mail.send_pending(db, Mail, cfg, SERVICE, now=row.next_attempt_at + dt.timedelta(seconds=1))
    row = _row(db, row_id)
    assert row.attempts == 3 and row.status == "dead" and row.recipient is None
    assert REGISTRY.get_sample_value("crm_mail_dead_total",
                                     {"service": SERVICE, "kind": "test"}) == before + 1


def test_queue_refuses_a_non_address(db):
    with db.uow() as uow, pytest.raises(ValueError):
        queue_mail(uow, Mail, "x@example.com\r\nBcc: y@example.com", "s", "b", "test")


def _erasure_of(email):
    from services.common import erasure
    return erasure.request(7, 70, {"name": "钱多多", "email": email},
                           dt.datetime.now(dt.UTC))


def test_erase_mail_cancels_the_persons_waiting_mail_only(db):
    from services.common.mail_outbox import erase_mail, scrub_mail
    person, other = (f"p{uuid.uuid4().hex[:6]}@example.com",
                     f"o{uuid.uuid4().hex[:6]}@example.com")
    to_person, to_other = _queue(db, person.upper()), _queue(db, other, body="给钱多多回电")
    by_ref = _queue(db, f"c{uuid.uuid4().hex[:6]}@example.com")
    sent = _queue(db, f"s{uuid.uuid4().hex[:6]}@example.com")
    with db.uow() as uow:
        uow.session.get(Mail, by_ref).ref = "ticket:9"
        r = uow.session.get(Mail, sent)
        r.status, r.recipient, r.body, r.ref = "sent", None, None, "ticket:8"
        uow.commit()
    with db.uow() as uow:
        changed = erase_mail(uow.session, Mail, _erasure_of(person), refs=["ticket:9"],
                             final_refs=["ticket:8"])
        scrubbed = scrub_mail(uow.session, Mail, ["钱多多"])
        uow.commit()
    assert sorted(changed) == sorted([to_person, by_ref, sent])
    for row_id in (to_person, by_ref):
        row = _row(db, row_id)
        assert (row.status, row.recipient, row.body, row.recipient_masked) == \
            ("dead", None, None, "[erased]")
    assert _row(db, sent).recipient_masked == "[erased]" and _row(db, sent).status == "sent"
    kept = _row(db, to_other)
    assert kept.status == "pending" and kept.recipient == other
    assert scrubbed == [to_other] and kept.body == "给[erased]回电"


def test_a_mail_cancelled_after_the_batch_was_read_is_not_sent(db, smtp, monkeypatch):
    """The sender reads its batch, then an erasure commits before the second send: the
    stale copy is not sent (the row is read again just before each send)."""
    from services.common.mail_outbox import erase_mail
    first, second = (f"f{uuid.uuid4().hex[:6]}@example.com",
                     f"e{uuid.uuid4().hex[:6]}@example.com")
    ids = [_queue(db, first), _queue(db, second)]
    real = mail._unchanged

    def erase_meanwhile(d, model, row):
        if row.id == ids[0]:
            with db.uow() as uow:
                erase_mail(uow.session, Mail, _erasure_of(second))
                uow.commit()
        return real(d, model, row)

    monkeypatch.setattr(mail, "_unchanged", erase_meanwhile)
    mail.send_pending(db, Mail, {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port}, SERVICE)
    assert len(smtp.messages(first)) == 1 and smtp.messages(second) == []
    assert _row(db, ids[1]).status == "dead" and _row(db, ids[1]).recipient is None
