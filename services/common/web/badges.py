"""Header badges: counts a gateway shows next to the user's name on its pages
("follow-ups due: 3" linking to My day). A gateway overrides
``header_badges(self, actor) -> [{"label", "count", "href"}]``; the kit calls it
once per page with a short timeout (config ``HEADER_BADGE_TIMEOUT``, seconds,
default 1) and shows nothing for a badge that fails, is slow or is malformed:
a badge never breaks a page."""
import logging

import eventlet

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT = 1.0
TONES = ("info", "success", "warning", "danger")


def collect(source, actor, config, t):
    """The normalised badges of ``source(actor)`` (``[]`` on any failure)."""
    if source is None or not actor:
        return []
    timeout = float((config or {}).get("HEADER_BADGE_TIMEOUT", DEFAULT_TIMEOUT) or 0)
    try:
        with eventlet.Timeout(timeout if timeout > 0 else DEFAULT_TIMEOUT):
            raw = source(actor)
    except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - a badge never breaks a page
        log.warning("header badges failed: %s", type(exc).__name__)
        return []
    return [b for b in (normalise(item, t) for item in (raw or [])) if b]


def normalise(item, t):
    """One badge for the template, or None: a local ``href``, a ``count`` that is a
    whole number > 0 (or None: the label alone); ``label``/``title`` are catalogue
    keys or text, formatted with ``args``."""
    try:
        href = item.get("href") or ""
        if not isinstance(href, str) or not href.startswith("/") or href.startswith("//") \
                or "\\" in href:
            return None
        count = item.get("count")
        if count is not None:
            count = int(count)
            if count <= 0:
                return None
        args = item.get("args") or {}
        label = t(str(item["label"]), **args)
        title = t(str(item["title"]), **args) if item.get("title") else label
        tone = item.get("tone") if item.get("tone") in TONES else "info"
        return {"label": label, "count": count, "href": href, "tone": tone, "title": title,
                "id": str(item["id"]) if item.get("id") else None}
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
