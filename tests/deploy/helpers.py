"""Shared helpers for the deploy checks: paths, YAML loading, external tools."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

CLASSES = {
    "customers": ("CustomersService", "CustomersGateway"),
    "sales": ("SalesService", "SalesGateway"),
    "service_desk": ("ServiceDeskService", "ServiceDeskGateway"),
    "marketing": ("MarketingService", "MarketingGateway"),
    "reporting": ("ReportingService", "ReportingGateway"),
}


def in_ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name, install_hint):
    """Path of an external tool; skip locally when missing, fail in CI."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} not installed ({install_hint})"
    if in_ci():
        pytest.fail(f"{message}: CI must validate the deploy files with it")
    pytest.skip(message)


def run(cmd, cwd=ROOT, timeout=60, env=None):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)


def load_yaml(path):
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def load_all(path):
    return [d for d in yaml.safe_load_all(Path(path).read_text(encoding="utf-8")) if d]


def targets(service):
    svc, gw = CLASSES[service]
    return (f"services.{service}.service:{svc}", f"services.{service}.gateway:{gw}")
