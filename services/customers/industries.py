"""The industry picker: GB/T 4754-2017 by code or by name.

Uses ``services.common.identifiers.industry_search`` (the full table) when the kit
has it, else searches the sections and divisions of the table the validator uses.
"""
import re

from services.common import identifiers

_CODE = re.compile(r"^[A-Ta-t]?\d{0,4}$")


def _norm(entry):
    """(code, name) from whatever a search returns (dict, tuple, object)."""
    if isinstance(entry, dict):
        return str(entry.get("code")), str(entry.get("name") or entry.get("label") or "")
    if isinstance(entry, (tuple, list)):
        return str(entry[0]), str(entry[1])
    return str(entry.code), str(getattr(entry, "name", ""))


def _table():
    sections, _ = identifiers.industry_table()
    for sec in sections.values():
        yield sec["code"], sec["name"]
        for div in sec["divisions"]:
            yield f"{sec['code']}{div['code']}", div["name"]


def options():
    """[(code, name)] of sections and divisions: the form's suggestion list."""
    return list(_table())


def search(term, limit=20):
    term = (term or "").strip()
    if not term:
        return []
    full = getattr(identifiers, "industry_search", None)
    if full is not None:
        try:
            return [_norm(e) for e in full(term, limit)]
        except (TypeError, ValueError):
            pass
    up = term.upper()
    found = [(c, n) for c, n in _table() if term in n or c.startswith(up)
             or c[1:].startswith(up)]
    return found[:limit]


def label(code):
    """'C35 专用设备制造业' for a stored code (what the picker shows)."""
    if not code:
        return ""
    try:
        name = identifiers.industry_name(code)
    except (KeyError, ValueError, TypeError):
        name = None
    return f"{code} {name}" if name else code


def resolve(text, t):
    """(code, None) for a typed code, 'C35 专用设备制造业' or a name that matches one
    industry; (None, message) otherwise (the message lists the candidates)."""
    text = (text or "").strip()
    token = text.split()[0]
    if _CODE.match(token) and any(ch.isdigit() for ch in token) or \
            (len(token) == 1 and token.isalpha() and token.isascii()):
        return token.upper(), None  # the service validates the code itself
    matches = search(text, 8)
    exact = [m for m in matches if m[1] == text]
    if exact:
        return exact[0][0], None
    if len(matches) == 1:
        return matches[0][0], None
    if not matches:
        return None, t("customers.industry.none", text=text)
    names = "; ".join(f"{c} {n}" for c, n in matches)
    return None, t("customers.industry.several", text=text, names=names)
