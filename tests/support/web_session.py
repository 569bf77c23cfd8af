"""A signed-in browser session over plain HTTP (requests) for page tests: the
session cookie holds the token as the kit's sign-in sets it; ``csrf(html)`` reads
the form's CSRF token from a page like a browser submits it."""
import re

import requests

from services.common.auth import mint_token

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html):
    """The CSRF token of the (first) form on a page, as a browser would post it."""
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


class WebSession(requests.Session):
    def __init__(self, base, config=None, user=None, role="staff", department="sales"):
        super().__init__()
        self.base = base
        self.headers["Accept"] = "text/html,application/xhtml+xml"
        if user:
            self.cookies.set("crm_token", mint_token(config, user, role, department))

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        if url.startswith("/"):
            url = self.base + url
        return super().request(method, url, *args, **kwargs)

    def csrf(self, path="/app/customers"):
        return csrf_of(self.get(path).text)

    def post_form(self, path, data, files=None, csrf_from="/app/customers"):
        data = dict(data)
        data.setdefault("csrf_token", self.csrf(csrf_from))
        return self.post(path, data=data, files=files)
