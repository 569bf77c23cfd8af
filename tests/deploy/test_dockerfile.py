"""Dockerfile and .dockerignore: multi-stage, non-root, health check."""
import importlib.util
import re

from tests.deploy.helpers import DEPLOY, ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions():
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    return [ln.strip() for ln in text.splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def test_multi_stage_non_root_with_healthcheck():
    lines = instructions()
    froms = [ln for ln in lines if ln.upper().startswith("FROM ")]
    assert len(froms) >= 2, "multi-stage build"
    last_stage = lines[lines.index(froms[-1]):]
    assert any(ln.startswith("COPY --from=") for ln in last_stage)
    users = [ln.split()[1] for ln in last_stage if ln.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(ln.startswith("HEALTHCHECK ") for ln in last_stage)
    assert (DEPLOY / "docker" / "healthcheck.py").is_file()


def test_dockerignore_keeps_context_small_and_secret_free():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "var", "tests", ".env"):
        assert entry in ignored
    assert "!deploy/docker/healthcheck.py" in ignored


def _healthcheck():
    spec = importlib.util.spec_from_file_location("crm_hc", DEPLOY / "docker" / "healthcheck.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_healthcheck_targets_each_role(monkeypatch):
    hc = _healthcheck()
    monkeypatch.setenv("METRICS_PORT", "9103")
    monkeypatch.setenv("WEB_SERVER_ADDRESS", "0.0.0.0:8000")
    assert hc.target() == "http://127.0.0.1:9103/metrics"
    monkeypatch.setenv("METRICS_PORT", "0")
    monkeypatch.setenv("WEB_SERVER_ADDRESS", "0.0.0.0:8002")
    assert hc.target() == "http://127.0.0.1:8002/health"
    monkeypatch.delenv("METRICS_PORT")
    monkeypatch.delenv("WEB_SERVER_ADDRESS")
    assert hc.target() is None and hc.main() == 0
