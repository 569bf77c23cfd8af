"""Sensitive-data scanner: resident ID numbers and bank card numbers.

No field of any service may hold either. The text is folded first
(``services.common.unicode_digits.fold``: NFKC, any script's digits to ASCII,
invisible format characters dropped), so full-width digits, Arabic-Indic
digits and U+3000 / NBSP separators are read like their ASCII forms.

What is a number: runs of digits not glued to a letter or digit (a hash's
digit stretch is part of a longer token; only an 18-character resident ID is
caught even when glued to letters, ``ID11010519491231002X``), split into
groups by one separator kind: spaces (any Unicode space), dots (``.``, ``·``),
dashes (``-``, U+2010-2015, U+2212) or ``_``. A token joined to a letter by a
dot/dash/underscore (a UUID, a host name, a version) is not a number. Each
group alone, the groups of one word joined by the same separator kind
(``110105-19491231-002X``), and every run of consecutive space-separated
one-group words (``1101 0519 4912 3100 2X``, also after ``13800138000 ``) is
a candidate, as long as each joined group has at most 8 characters (two
separate numbers side by side, ``202001079615 134561``, are not one); a
date or a dashed phone number never lends a group to its neighbours. Spaces
are spaces and tabs after NFKC, not line breaks.

- Resident ID (GB 11643-1999): 18 characters, 17 digits + check digit or
  ``X``/``x``, MOD 11-2 check right (written here from the standard: weight of
  position i from the left is 2^(17-i) mod 11, check = (12 - S mod 11) mod 11,
  10 -> X), digits 7-14 a real birth date 1900-01-01..today. First-generation
  15-digit IDs (GB 11643-1989: address + YYMMDD in the 1900s + sequence, no
  check) when the date is real and the number stands whole (never 15 digits
  cut out of a longer grouped number). A wrong check character is not an ID. The
  birthplace code is deliberately not checked (lists lag new districts).
- Bank card: 16-19 digits, Luhn valid (ISO/IEC 7812-1), unless the candidate
  is a valid unified social credit code (``identifiers.validate_uscc``): an
  all-digit USCC is a USCC, not a card. A resident ID wins over a USCC.
- Other long numeric ids (order numbers, tracking numbers): the scanner
  cannot tell them from a card. An unbroken run of 20 or more digits, or one
  glued to letters (``SO2024…``), is never a card; a bare 16-19 digit number
  that happens to pass Luhn (1 in 10) is refused as a card, an 18-digit one
  that passes MOD 11-2 with a real date as an ID, a 15-digit one whose digits
  7-12 are a real YYMMDD as a first-generation ID. Keep such ids in their own
  fields with a letter prefix (docs/KIT.md, "Sensitive data").

Dictionary keys are scanned too (reported as ``<path>._keys``).
"""
import datetime as dt
import re

from services.common.unicode_digits import fold

_RIC_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]
_DIGIT = re.compile(r"[0-9]")
_MAX_GROUP = 8  # the longest group joined with its neighbours
_SEP_KINDS = {".": "dot", "·": "dot", "_": "underscore"}  # any other tight one: "dash"
_TIGHT = r".\-_\u2010-\u2015\u2212\u00b7"  # separators that glue a token to letters
# spaces: after NFKC every Unicode space (NBSP, U+3000, thin spaces) is " "; not line breaks
_SEP = rf"(?:[ \t]{{1,3}}|[ \t]?[{_TIGHT}][ \t]?)"
_CHUNK = re.compile(
    rf"(?=[0-9])(?<![0-9A-Za-z])(?<![0-9A-Za-z][{_TIGHT}])"
    rf"[0-9]+(?:{_SEP}[0-9]+)*(?:{_SEP}?[Xx])?"
    rf"(?![0-9A-Za-z])(?![{_TIGHT}][0-9A-Za-z])")
_TIGHT_SPACED = re.compile(rf"[ \t]?([{_TIGHT}])[ \t]?")
_TIGHT_SPLIT = re.compile(rf"([{_TIGHT}])")
_SPACES = re.compile(r"[ \t]+")
# An 18-character ID is caught even glued to letters (``ID110…``, ``No110…``):
# a check character plus a real date is too specific to come from a hash.
_GLUED_RIC = re.compile(r"(?=[0-9])(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


def _ric_check(body17):
    s = sum(int(c) * w for c, w in zip(body17, _RIC_WEIGHTS, strict=True))
    a1 = (12 - s % 11) % 11
    return "X" if a1 == 10 else str(a1)


def _real_date(y, m, d):
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _is_ric(c):
    if len(c) == 18 and c[:17].isdigit():
        if _ric_check(c[:17]) != c[17].upper():
            return False
        born = _real_date(int(c[6:10]), int(c[10:12]), int(c[12:14]))
        return born is not None and dt.date(1900, 1, 1) <= born <= dt.date.today()
    if len(c) == 15 and c.isdigit():
        return _real_date(1900 + int(c[6:8]), int(c[8:10]), int(c[10:12])) is not None
    return False


def _luhn(digits):
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _is_uscc(c):
    from services.common.identifiers import validate_uscc  # identifiers imports the folding too
    try:
        validate_uscc(c)
    except ValueError:
        return False
    return True


def _is_card(c):
    return 16 <= len(c) <= 19 and c.isdigit() and _luhn(c) and not _is_uscc(c)


def _windows(groups, seps):
    """(candidate, whole): each group, and each run of consecutive groups of at
    most 8 characters (how people group an ID or a card: 4-4-4-4-2, 6-8-4)
    joined by one separator kind; ``whole`` when it spans all the groups. Two
    separate numbers side by side (``202001079615 134561``) are not joined."""
    last = len(groups) - 1
    for i, first in enumerate(groups):
        yield first, last == 0
        if len(first) > _MAX_GROUP:
            continue
        joined, kind = first, None
        for j in range(i + 1, len(groups)):
            kind = kind or seps[j - 1]
            if seps[j - 1] != kind or len(joined) >= 19 or len(groups[j]) > _MAX_GROUP:
                break
            joined += groups[j]
            yield joined, i == 0 and j == last


def _candidates(chunk):
    """Words are separated by spaces; a word's groups by one tight separator
    (``110105-19491231-002X``). Candidates: the windows inside each word, and
    the windows of consecutive one-group words (``1101 0519 4912 3100 2X``) - a
    date or a dashed phone number never lends a group to its neighbours."""
    words = _SPACES.split(_TIGHT_SPACED.sub(r"\1", chunk))
    single = []
    for word in words:
        parts = _TIGHT_SPLIT.split(word)
        groups, seps = parts[0::2], [_SEP_KINDS.get(t, "dash") for t in parts[1::2]]
        if len(groups) == 1:
            single.append(word)
            continue
        yield from _windows(single, ["space"] * len(single))
        single = []
        yield from _windows(groups, seps)
    yield from _windows(single, ["space"] * len(single))


def scan_text(text):
    """Return 'resident_id', 'bank_card' or None."""
    if not isinstance(text, str) or len(text) < 5:
        return None  # 15 digits need 5 characters even as ⅒ (NFKC: "1⁄10", the most)
    text = fold(text)
    if len(_DIGIT.findall(text)) < 15:
        return None  # fewer than 15 digits: no ID, no card
    if any(_is_ric(m.group(0)) for m in _GLUED_RIC.finditer(text)):
        return "resident_id"
    found = None
    for m in _CHUNK.finditer(text):
        chunk = m.group(0)
        if len(chunk) < 15:
            continue  # fewer than 15 digits in it
        for c, whole in ([(chunk, True)] if chunk.isalnum() else _candidates(chunk)):
            # a 15-digit ID has no check character: only a whole number counts,
            # never 15 digits cut out of a longer grouped one (a card's groups)
            if (len(c) == 18 or (len(c) == 15 and whole)) and _is_ric(c):
                return "resident_id"
            if found is None and _is_card(c):
                found = "bank_card"
    return found


_LABELS = {"resident_id": "a resident ID card number", "bank_card": "a bank card number"}
_VALUE_HIT = {k: f"must not contain {v} (SENSITIVE_DATA)" for k, v in _LABELS.items()}


def scan(data, prefix="", skip=()):
    """Scan every string in a nested structure: {dotted field: message}.

    Keys are scanned too: a key holding a number is reported as ``<path>._keys``
    without repeating it (field names reach error texts and logs)."""
    hits = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if key in skip:
                continue
            kind = scan_text(key)
            if kind:
                hits[f"{prefix}_keys"] = [f"a field name must not contain {_LABELS[kind]} "
                                          "(SENSITIVE_DATA)"]
                continue
            if isinstance(value, str):  # the common case, without building its path
                kind = scan_text(value)
                if kind:
                    hits[f"{prefix}{key}".rstrip(".")] = [_VALUE_HIT[kind]]
            elif isinstance(value, (dict, list, tuple)):
                hits.update(scan(value, f"{prefix}{key}.", skip))
    elif isinstance(data, (list, tuple)):
        for i, value in enumerate(data):
            if isinstance(value, str):
                kind = scan_text(value)
                if kind:
                    hits[f"{prefix}{i}".rstrip(".")] = [_VALUE_HIT[kind]]
            elif isinstance(value, (dict, list, tuple)):
                hits.update(scan(value, f"{prefix}{i}.", skip))
    elif isinstance(data, str):
        kind = scan_text(data)
        if kind:
            hits[prefix.rstrip(".")] = [_VALUE_HIT[kind]]
    return hits
