"""The kit's header bar (switcher, language, user, sign-out with CSRF) inside a
page the kit does not render, e.g. the managers' dashboard on 8005::

    html = with_kit_header(html, request, config, "reporting", actor, token)
"""
import logging
import re

from services.common.web.pages import PageContext
from services.common.web.templating import environment

log = logging.getLogger(__name__)
_BODY = re.compile(r"<body[^>]*>", re.IGNORECASE)


def kit_header(request, config, service, actor, token):
    ctx = PageContext(request, config, service)
    ctx.actor, ctx.token = actor, token
    return environment(service).get_template("kit/embed_header.html").render(
        ctx.base_context())


def with_kit_header(html, request, config, service, actor, token):
    """``html`` with the header bar right after ``<body>`` (unchanged if the bar
    cannot be made: the page matters more than its header)."""
    try:
        bar = kit_header(request, config, service, actor, token)
    except Exception:  # noqa: BLE001
        log.exception("kit header for %s failed", service)
        return html
    m = _BODY.search(html)
    if not m:
        return bar + html
    return html[:m.end()] + bar + html[m.end():]
