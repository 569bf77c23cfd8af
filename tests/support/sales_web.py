"""Helpers of the sales workspace's HTTP tests: a signed-in requests session (the kit's
session cookie), the CSRF token read from a page, form posts."""
import re

import requests

from services.common.auth import mint_token

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browserless:
    """A requests session signed in as ``user`` on the sales gateway at ``base``."""

    def __init__(self, base, config, user, role="staff", department="sales"):
        self.base = base
        self.s = requests.Session()
        self.s.headers["Accept"] = "text/html"
        self.s.cookies.set("crm_token", mint_token(config, user, role, department))

    def get(self, path, **kw):
        return self.s.get(self.base + path, timeout=30, allow_redirects=kw.pop("follow", True),
                          **kw)

    def csrf(self, path="/app/my-day"):
        return CSRF.search(self.get(path).text).group(1)

    def post(self, path, data, csrf=True, follow=False, token_from="/app/my-day"):
        data = dict(data)
        if csrf is True:
            data["csrf_token"] = self.csrf(token_from)
        elif csrf:
            data["csrf_token"] = csrf
        return self.s.post(self.base + path, data=data, timeout=30, allow_redirects=follow)
