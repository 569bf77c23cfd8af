"""Values no column can hold, refused field by field before any I/O.

JSON carries integers of any size, non-finite numbers (Python's parser reads
``NaN`` and ``Infinity``) and ``\\udXXX`` escapes that decode to lone UTF-16
surrogates, and text may carry NUL characters. A database cannot store them (SQLite
raises OverflowError, PostgreSQL "integer out of range" and "cannot contain NUL", and a
lone surrogate cannot be encoded as UTF-8), so they used to surface as 500s.
``problems`` finds them anywhere in a request, with the field's dotted path, for a 422.
"""
import math

INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
OUT_OF_RANGE = f"integer out of range ({INT64_MIN}..{INT64_MAX})"
NOT_FINITE = "not a finite number"
BAD_TEXT = "invalid text (a lone UTF-16 surrogate)"
NUL_TEXT = "invalid text (a NUL character)"


def _bad_text(s):
    if s.isascii():
        return False
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def problems(value, path="_body"):
    """{dotted path: [message]} of every value a database column cannot hold."""
    out = {}
    _walk(value, path, out)
    return out


def _walk(value, path, out):
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            out[path] = [OUT_OF_RANGE]
    elif isinstance(value, float):
        if not math.isfinite(value):
            out[path] = [NOT_FINITE]
    elif isinstance(value, str):
        if "\x00" in value:  # PostgreSQL text cannot hold it ("cannot contain NUL")
            out[path] = [NUL_TEXT]
        elif _bad_text(value):
            out[path] = [BAD_TEXT]
    elif isinstance(value, dict):
        for key, item in value.items():
            key = str(key)
            if _bad_text(key):
                out[path] = [f"a key is {BAD_TEXT}"]
                continue
            if type(item) is str and "\x00" not in item and not _bad_text(item):
                continue  # the common case: nothing to refuse, no path to build
            _walk(item, key if path == "_body" else f"{path}.{key}", out)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _walk(item, f"{path}.{i}", out)
