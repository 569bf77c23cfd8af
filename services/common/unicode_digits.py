"""One rule for digits typed in any script, shared by the sensitive-data
scanner and the identifier validators (mobiles).

``fold(text)``: Unicode NFKC (full-width ``１３８`` -> ``138``, ideographic
space U+3000 and NBSP -> space, full-width ``Ｘ`` -> ``X``, circled and
superscript digits -> digits), then every remaining decimal digit of any
script (Arabic-Indic ``١٣٨``, Devanagari, ... : ``str.isdecimal``) -> its
ASCII digit, and invisible format characters (zero-width space/joiner, soft
hyphen, BOM, direction marks: category Cf) removed. The result holds no
non-ASCII digit.
"""
import unicodedata


def _fold_char(c):
    if c.isdecimal() and not c.isascii():
        return str(unicodedata.decimal(c))
    if unicodedata.category(c) == "Cf":
        return ""
    return c


def fold(text):
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text
    return "".join(_fold_char(c) for c in text)
