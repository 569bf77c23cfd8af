"""Configuration: one YAML file (config.yml) with ``${VAR:default}`` values.

nameko's own loader does the substitution for ``nameko run``; ``load_config``
does the same for the CLI, alembic and tests so all read the same file.
"""
import os
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = ROOT / "config.yml"
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")


def _substitute(text):
    return _ENV.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ""), text)


def load_config(path=None):
    path = Path(path or os.environ.get("CRM_CONFIG", DEFAULT_CONFIG))
    return yaml.safe_load(_substitute(path.read_text(encoding="utf-8"))) or {}


def shipped_default(name, path=DEFAULT_CONFIG):
    """The default the repository's config.yml gives ``${name:default}`` (None if it
    names no such variable): e.g. the public dev JWT key, ``shipped_default("JWT_KEY")``."""
    text = Path(path).read_text(encoding="utf-8")
    m = re.search(r"\$\{" + re.escape(name) + r":([^}]*)\}", text)
    return m.group(1) if m else None


def db_url(config, service):
    """The service's database URL: DB_URIS[service] from the config."""
    url = (config.get("DB_URIS") or {}).get(service)
    if not url:
        raise KeyError(f"DB_URIS.{service} is not configured")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rel = url[len("sqlite:///"):]
        if rel and rel != ":memory:":
            full = (ROOT / rel).resolve()
            full.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{full}"
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):  # psycopg2 is our driver (see services.common.db)
            url = "postgresql+psycopg2://" + url[len(bare):]
    return url


def var_dir(config=None):
    d = Path((config or {}).get("VAR_DIR") or os.environ.get("CRM_VAR_DIR") or ROOT / "var")
    if not d.is_absolute():
        d = ROOT / d
    d.mkdir(parents=True, exist_ok=True)
    return d
