"""Sensitive-data scanner: resident ID numbers and bank card numbers.

No field of any service may hold either. A resident ID is any 18-character
number (17 digits + digit/X) whose GB 11643 check character is right and
whose digits 7-14 are a real birth date. The birthplace code is deliberately
not checked: python-stdnum's ``cn.ric`` list lags new district codes and would
let real numbers through. A bank card is a Luhn-valid run of 16-19 digits
(spaces or dashes between groups allowed).
"""
import datetime as dt
import re

from stdnum import luhn
from stdnum.cn import ric

_RIC = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
# 16-19 digits in one run, or in groups of four separated by a space or a dash.
# Not inside a longer token: a UUID's or a hash's digit stretches are not cards.
_CARD = re.compile(r"(?<![0-9A-Za-z-])(\d{16,19}|\d{4}(?:[ -]\d{4}){3}(?:[ -]?\d{1,3})?)"
                   r"(?![0-9A-Za-z-])")


def _is_ric(candidate):
    body, check = candidate[:17], candidate[17].upper()
    if ric.calc_check_digit(body) != check:
        return False
    try:
        born = dt.date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= born <= dt.date.today()


def _is_card(candidate):
    digits = re.sub(r"[ -]", "", candidate)
    return 16 <= len(digits) <= 19 and luhn.is_valid(digits)


def scan_text(text):
    """Return 'resident_id', 'bank_card' or None."""
    if not isinstance(text, str) or len(text) < 16:
        return None
    for m in _RIC.finditer(text):
        if _is_ric(m.group(1)):
            return "resident_id"
    for m in _CARD.finditer(text):
        if _is_card(m.group(1)):
            return "bank_card"
    return None


_LABELS = {"resident_id": "a resident ID card number", "bank_card": "a bank card number"}


def scan(data, prefix="", skip=()):
    """Scan every string in a nested structure: {dotted field: message}."""
    hits = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if key in skip:
                continue
            hits.update(scan(value, f"{prefix}{key}.", skip))
    elif isinstance(data, (list, tuple)):
        for i, value in enumerate(data):
            hits.update(scan(value, f"{prefix}{i}.", skip))
    elif isinstance(data, str):
        kind = scan_text(data)
        if kind:
            hits[prefix.rstrip(".")] = [f"must not contain {_LABELS[kind]} (SENSITIVE_DATA)"]
    return hits
