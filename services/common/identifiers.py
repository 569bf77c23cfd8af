"""Identifier validators: USCC (python-stdnum), mainland mobiles, GB/T 4754-2017.

Each returns the normalised value or raises ``ValueError`` with a message a
user can act on; schemas turn that into a field error.
"""
import json
import re
from functools import lru_cache
from pathlib import Path

from stdnum import exceptions as stdnum_exc
from stdnum.cn import uscc as stdnum_uscc

from services.common.unicode_digits import fold

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_INDUSTRY = re.compile(r"^([A-T])?(\d{2,4})?$")


def validate_uscc(value):
    if not isinstance(value, str) or len(value) != 18:
        raise ValueError("unified social credit code must be exactly 18 characters")
    if value != value.upper():
        raise ValueError("unified social credit code must use upper-case letters")
    try:
        return stdnum_uscc.validate(value)
    except stdnum_exc.InvalidChecksum:
        raise ValueError("unified social credit code has a wrong check character") from None
    except stdnum_exc.ValidationError:
        raise ValueError("not a valid unified social credit code (GB 32100-2015)") from None


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
    if not (v.isascii() and re.fullmatch(r"1[3-9][0-9]{9}", v)):
        raise ValueError("mobile must be 11 digits starting with 13-19 (mainland China)")
    return v


@lru_cache(maxsize=1)
def industry_table():
    path = Path(__file__).parent / "data" / "gbt4754_2017.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    sections = {s["code"]: s for s in data["sections"]}
    divisions = {d["code"]: s["code"] for s in data["sections"] for d in s["divisions"]}
    return sections, divisions


def validate_industry_code(value):
    """Accept a section letter (``C``), a division (``35``), a group/class
    (``351``, ``3511``) or section + code (``C35``, ``C3511``)."""
    if not isinstance(value, str) or not value:
        raise ValueError("industry code is required (GB/T 4754-2017)")
    v = value.strip().upper()
    m = _INDUSTRY.match(v)
    if not m or not (m.group(1) or m.group(2)):
        raise ValueError("industry code must be a GB/T 4754-2017 section letter and/or code")
    sections, divisions = industry_table()
    section, digits = m.group(1), m.group(2)
    if digits:
        owner = divisions.get(digits[:2])
        if owner is None:
            raise ValueError(f"{digits[:2]} is not a GB/T 4754-2017 division")
        if section and section != owner:
            raise ValueError(f"division {digits[:2]} belongs to section {owner}, not {section}")
    elif section not in sections:
        raise ValueError(f"{section} is not a GB/T 4754-2017 section")
    return v


def industry_name(code):
    sections, divisions = industry_table()
    m = _INDUSTRY.match(code or "")
    if not m:
        return None
    if m.group(2):
        sec = sections[divisions[m.group(2)[:2]]]
        for d in sec["divisions"]:
            if d["code"] == m.group(2)[:2]:
                return f"{sec['name']}-{d['name']}"
    return sections.get(m.group(1), {}).get("name")


def mask_mobile(value):
    if not value or len(value) < 7:
        return value
    return f"{value[:3]}****{value[-4:]}"


def mask_email(value):
    if not value or "@" not in value:
        return value
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"
