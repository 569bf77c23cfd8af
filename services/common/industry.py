"""Industry codes of GB/T 4754-2017 《国民经济行业分类》: validation, names, search.

The full table (20 sections, 97 divisions, 473 groups, 1381 classes) is data:
``data/gbt4754_2017.tsv``; where it comes from and what was added to it is
written in ``data/GBT4754_2017.md``.

A code is written as a section letter (``C``), digits alone (division ``35``,
group ``351``, class ``3511``) or section + digits (``C35``, ``C3511``). Every
level is checked against the table: ``C3500``, ``I658`` and ``9799`` do not
exist and are refused; ``0111`` (稻谷种植) exists and is accepted.
"""
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "gbt4754_2017.tsv"
LEVELS = {1: "section", 2: "division", 3: "group", 4: "class"}
_LEVEL_ZH = {"section": "门类", "division": "大类", "group": "中类", "class": "小类"}
_CODE = re.compile(r"^([A-T])?(\d{2,4})?$")
_CODE_PREFIX = re.compile(r"^([A-Z])?(\d{0,4})$")


@dataclass(frozen=True)
class Entry:
    code: str      # as in the standard: "C", "35", "351", "3511"
    name: str
    level: str     # section | division | group | class
    section: str   # the section letter every entry belongs to

    @property
    def full_code(self):
        """Section letter + digits ("C3511"); the section alone for a section."""
        return self.code if self.level == "section" else self.section + self.code


@lru_cache(maxsize=1)
def entries():
    """{code: Entry} for every row of the table, in the standard's order."""
    table, section = {}, None
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        code, name = line.split("\t")
        if code.isalpha():
            section = code
        table[code] = Entry(code, name, LEVELS[len(code) if code.isdigit() else 1], section)
    return table


def industry_table():
    """(sections, divisions): the shape this module had before the full table,
    kept for callers: {section: {"code", "name", "divisions": [{"code", "name"}]}}
    and {division code: section letter}."""
    table = entries()
    sections = {e.code: {"code": e.code, "name": e.name, "divisions": []}
                for e in table.values() if e.level == "section"}
    divisions = {}
    for e in table.values():
        if e.level == "division":
            sections[e.section]["divisions"].append({"code": e.code, "name": e.name})
            divisions[e.code] = e.section
    return sections, divisions


def lookup(value):
    """The Entry a valid code names, or None (never raises)."""
    try:
        return _resolve(value)
    except ValueError:
        return None


def validate_industry_code(value):
    """Return the code upper-cased (as typed otherwise) or raise ValueError
    saying which level does not exist. Messages name only codes of the table
    (never an invalid part of the input: error texts reach logs)."""
    _resolve(value)
    return value.strip().upper()


def _resolve(value):
    if not isinstance(value, str) or not value.strip():
        raise ValueError("industry code is required (GB/T 4754-2017)")
    v = value.strip().upper()
    m = _CODE.match(v)
    if not m or not (m.group(1) or m.group(2)):
        raise ValueError("industry code must be a GB/T 4754-2017 section letter and/or code "
                         "(e.g. C, 35, C35, 351, C3511)")
    table = entries()
    section, digits = m.group(1), m.group(2)
    if not digits:
        return table[section]  # every letter A-T is a section
    division = table.get(digits[:2])
    if division is None:
        raise ValueError("the first two digits are not a GB/T 4754-2017 division (大类 01-97)")
    if section and section != division.section:
        raise ValueError(f"division {digits[:2]} belongs to section {division.section}, "
                         f"not {section}")
    entry = division
    for size in range(3, len(digits) + 1):
        code = digits[:size]
        parent, entry = entry, table.get(code)
        if entry is None:
            level = LEVELS[size]
            hint = ""
            if len(digits) == 4 and digits.endswith("00"):
                hint = f"; a division is written with two digits ({section or ''}{digits[:2]})"
            children = [c for c in table if c.isdigit() and len(c) == size
                        and c.startswith(parent.code)]
            plural = "classes" if level == "class" else "groups"
            raise ValueError(f"no such GB/T 4754-2017 {level} ({_LEVEL_ZH[level]}) in "
                             f"{parent.level} {parent.full_code} {parent.name} "
                             f"(its {plural}: {', '.join(children)}){hint}")
    return entry


def industry_name(code):
    """Name for a code, None when the code does not exist.

    A section gives its name; a division "门类-大类" (as before the full table);
    a group or class its own name (e.g. ``C3511`` -> ``矿山机械制造``)."""
    entry = lookup(code)
    if entry is None:
        return None
    if entry.level == "division":
        return f"{entries()[entry.section].name}-{entry.name}"
    return entry.name


def industry_path(code):
    """[(full code, name), ...] from the section down to the code; [] if unknown."""
    entry = lookup(code)
    if entry is None:
        return []
    table = entries()
    chain = [table[entry.section]] + [table[entry.code[:n]]
                                      for n in range(2, len(entry.code) + 1)
                                      if entry.level != "section"]
    return [(e.full_code, e.name) for e in chain]


def _as_result(entry):
    return {"code": entry.full_code, "name": entry.name, "level": entry.level,
            "section": entry.section,
            "path": [name for _, name in industry_path(entry.full_code)[:-1]]}


def industry_search(term, limit=20):
    """Entries for a picker, by code prefix (``C35``, ``351``, ``i65``) or by a
    fragment of the zh-CN name (``软件``). Code matches: the exact code first,
    then its descendants in the standard's order. Name matches: names that
    start with the fragment first, then names that contain it. Each result is
    {"code": "C3511", "name", "level", "section", "path": [ancestor names]};
    ``code`` is accepted by ``validate_industry_code``."""
    if not isinstance(term, str):
        return []
    t = unicodedata.normalize("NFKC", term).strip()
    limit = max(1, min(int(limit or 20), 100))
    if not t:
        return []
    rows = list(entries().values())
    m = _CODE_PREFIX.match(t.upper())
    if m and (m.group(1) or m.group(2)):
        letter, digits = m.group(1), m.group(2)
        hits = [e for e in rows
                if (not letter or e.section == letter)
                and (e.level == "section" and not digits and letter
                     or e.level != "section" and e.code.startswith(digits))]
        hits.sort(key=lambda e: e.full_code != t.upper() and e.code != t.upper())
        return [_as_result(e) for e in hits[:limit]]
    hits = [e for e in rows if t in e.name]
    hits.sort(key=lambda e: not e.name.startswith(t))
    return [_as_result(e) for e in hits[:limit]]
