"""Identifier validators: USCC (GB 32100), mainland mobiles, GB/T 4754-2017.

Each returns the normalised value or raises ``ValueError`` with a message a
user can act on; schemas turn that into a field error. The USCC check lives in
``uscc.py`` and the GB/T 4754-2017 table in ``industry.py``; both are
re-exported here, where the services import them from.

Identifiers are checked by this project's own code, written from the standards,
and python-stdnum is no longer a dependency: ``stdnum.cn.ric.calc_check_digit``
wants the whole 18-character number, and handing it the 17-digit body, in the
scanner and in the tests that built their IDs with it, made the scanner miss
90 % of resident IDs while every test passed (issue 16); ``stdnum.cn.uscc``
refuses the letter authorities (A, N, Y) of GB 32100-2015/XG1-2016's table and
checks neither that table nor the embedded organisation code; and stdnum has
no GB/T 4754 table at all.
"""
import re

from services.common.industry import (  # noqa: F401  (re-exported)
    industry_name,
    industry_path,
    industry_search,
    industry_table,
    validate_industry_code,
)
from services.common.unicode_digits import fold
from services.common.uscc import validate_uscc  # noqa: F401  (re-exported)

_MOBILE = re.compile(r"1[3-9][0-9]{9}")  # ASCII digits only (``\d`` is any script's)


def normalize_mobile(value):
    """Mainland mobile: optional +86/0086 prefix, separators removed, 11 digits.

    Digits typed in any script are folded to ASCII first by the rule the
    sensitive-data scanner uses (``unicode_digits.fold``: full-width
    ``13８00138000`` and Arabic-Indic ``١٣٨…`` -> ``138…``); what is stored holds
    ASCII digits only."""
    if not isinstance(value, str):
        raise ValueError("mobile must be a string of 11 digits")
    v = re.sub(r"[\s-]", "", fold(value))
    for prefix in ("+86", "0086"):
        if v.startswith(prefix):
            v = v[len(prefix):]
    if not (v.isascii() and _MOBILE.fullmatch(v)):
        raise ValueError("mobile must be 11 digits starting with 13-19 (mainland China)")
    return v


def mask_mobile(value):
    if not value or len(value) < 7:
        return value
    return f"{value[:3]}****{value[-4:]}"


def mask_email(value):
    if not value or "@" not in value:
        return value
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"
