"""Jinja2 environments: autoescape on, templates from the service's own folder
(``services/<svc>/templates/``) first, then the kit's (``kit/…``)."""
import datetime as dt
import functools
import hashlib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, pass_context

KIT_DIR = Path(__file__).resolve().parent
SERVICES_DIR = KIT_DIR.parent.parent
DEFAULT_TZ = "Asia/Shanghai"


def _own_then_kit(service, folder):
    """``services/<service>/<folder>`` when it exists, then the kit's ``<folder>``."""
    dirs = []
    if service:
        own = SERVICES_DIR / service / folder
        if own.is_dir():
            dirs.append(own)
    dirs.append(KIT_DIR / folder)
    return dirs


def template_dirs(service=None):
    return _own_then_kit(service, "templates")


def _money(value, places=2):
    """1234567.5 -> '1,234,567.50' (no currency sign: the column says 元 / 万元)."""
    if value in (None, ""):
        return ""
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{d:,.{places}f}"


def _when(value, fmt="%Y-%m-%d %H:%M", tz=DEFAULT_TZ):
    """An ISO-8601 string or datetime shown in the company's time zone."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(ZoneInfo(tz))
    return value.strftime(fmt)


@pass_context
def _when_in_context(ctx, value, fmt="%Y-%m-%d %H:%M"):
    """``{{ x | when }}``: in the page's ``tz`` (CRM_TIMEZONE), else Asia/Shanghai."""
    return _when(value, fmt, ctx.get("tz") or DEFAULT_TZ)


@functools.lru_cache(maxsize=16)
def environment(service=None):
    env = Environment(loader=ChoiceLoader([FileSystemLoader(str(d))
                                           for d in template_dirs(service)]),
                      autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["money"] = _money
    env.filters["when"] = _when_in_context
    env.filters["date"] = pass_context(
        lambda ctx, v: _when(v, "%Y-%m-%d", ctx.get("tz") or DEFAULT_TZ))
    env.globals["static"] = static_url
    return env


@functools.lru_cache(maxsize=16)
def lenient_environment(service=None):
    """``environment`` where a missing variable renders as nothing: only for the bare
    error page (a template newer than the running code must not break it)."""
    from jinja2 import ChainableUndefined
    return environment(service).overlay(undefined=ChainableUndefined)


# --- static files ---------------------------------------------------------------------------
def static_dirs(service=None):
    return _own_then_kit(service, "static")


@functools.lru_cache(maxsize=256)
def file_version(path):
    """Short content hash of a static file (the ?v= of versioned URLs and its ETag)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def find_static(filename, service=None):
    from werkzeug.security import safe_join
    for folder in static_dirs(service):
        candidate = safe_join(str(folder), filename)
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    if filename.startswith("swagger/"):
        folder = swagger_dir()
        candidate = safe_join(str(folder), filename.removeprefix("swagger/")) if folder else None
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def swagger_dir():
    try:
        import swagger_ui_bundle
    except ImportError:  # pragma: no cover - pinned dependency
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


def static_url(filename, service=None):
    """'/static/kit.css?v=<content hash>': cached for a year, a new URL on every change."""
    path = find_static(filename, service)
    return f"/static/{filename}" + (f"?v={file_version(str(path))}" if path else "")
