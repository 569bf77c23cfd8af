"""Message catalogues: zh-CN first, English second.

Each catalogue is a flat JSON object ``{"key": "text"}``; the kit's own
(``services/common/web/messages/<lang>.json``) is merged with the service's
(``services/<svc>/messages/<lang>.json``; a service key overrides a kit key).
``t("key", n=3)`` formats with ``str.format``. A missing key shows the key
itself (tests/unit/common/test_web_kit.py fails on any key missing in one
language or used in a template but not defined)."""
import functools
import json
from pathlib import Path

LANGS = ("zh_CN", "en")
DEFAULT_LANG = "zh_CN"
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}
KIT_DIR = Path(__file__).resolve().parent
SERVICES_DIR = KIT_DIR.parent.parent


def normalise_lang(value):
    """'en', 'en-US', 'zh', 'zh-CN', 'zh_CN' -> a supported code, else None."""
    if not value:
        return None
    v = str(value).strip().replace("-", "_").lower()
    if v.startswith("en"):
        return "en"
    if v.startswith("zh"):
        return "zh_CN"
    return None


def catalogue_dirs(service=None):
    dirs = [KIT_DIR / "messages"]
    if service:
        dirs.append(SERVICES_DIR / service / "messages")
    return dirs


@functools.lru_cache(maxsize=64)
def catalogue(lang, service=None):
    merged = {}
    for folder in catalogue_dirs(service):
        path = folder / f"{lang}.json"
        if path.exists():
            merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def translator(lang, service=None):
    messages = catalogue(lang, service)

    def t(key, **kwargs):
        text = messages.get(key, key)
        if kwargs:
            try:
                return text.format(**kwargs)
            except (KeyError, IndexError, ValueError):
                return text
        return text

    return t


def all_catalogue_folders():
    """Every messages/ folder of the kit and of the services (for the key-parity test)."""
    folders = [KIT_DIR / "messages"]
    folders += sorted(p for p in SERVICES_DIR.glob("*/messages") if p.is_dir())
    return folders


def message(lang, service, text):
    """A service's (English) message in ``lang``: the catalogue's ``"msg:<text>"``
    entry if there is one, else the text as it came."""
    if not isinstance(text, str):
        return text
    return catalogue(lang, service).get("msg:" + text, text)
