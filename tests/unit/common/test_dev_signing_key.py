"""`crm run` on the public dev JWT key config.yml ships: one warning line, and it still
starts (issue 21); with another key, no warning."""
import json

import pytest
from typer.testing import CliRunner

from services.common import cli
from services.common.auth import DEV_KEY_WARNING, dev_key_in_use
from services.common.config import load_config, shipped_default

DEV = shipped_default("JWT_KEY")


def test_the_shipped_default_is_the_dev_key():
    assert DEV and "dev" in DEV and shipped_default("NO_SUCH_VARIABLE") is None


def test_dev_key_in_use_decides(monkeypatch):
    monkeypatch.delenv("JWT_KEY", raising=False)
    monkeypatch.delenv("JWT_KEYS", raising=False)
    assert dev_key_in_use(load_config())  # a clean checkout
    monkeypatch.setenv("JWT_KEY", "a-secret-of-this-install-0123456789abcdef")
    assert not dev_key_in_use(load_config())
    # still accepted through the rotation map: still the public key
    monkeypatch.setenv("JWT_KEYS", json.dumps({"old": DEV}))
    assert dev_key_in_use(load_config())
    # RS256: a shared secret verifies nothing
    rs = {"JWT": {"algorithm": "RS256", "key": DEV, "keys": {}}}
    assert not dev_key_in_use(rs)


@pytest.mark.parametrize("key,warned", [(DEV, True), ("another-key-0123456789abcdef", False)])
def test_crm_run_warns_once_at_start_and_goes_on(monkeypatch, key, warned):
    """The warning is the first thing `crm run` prints; it does not stop it (here the
    broker check that follows ends the run, so nothing is started)."""
    from services.common.cli import stack
    cfg = {"AMQP_URI": "amqp://guest:guest@127.0.0.1:1/", "JWT": {"key": key}}
    monkeypatch.setattr(cli, "_cfg", lambda: cfg)
    checked = []
    monkeypatch.setattr(stack, "ensure_broker", lambda uri, echo: checked.append(uri) or False)
    out = CliRunner().invoke(cli.app, ["run"])
    assert out.exit_code == 1 and checked == [cfg["AMQP_URI"]]  # went on past the warning
    lines = [line for line in out.output.splitlines() if DEV_KEY_WARNING in line]
    assert lines == ([f"WARNING: {DEV_KEY_WARNING}"] if warned else []), out.output
