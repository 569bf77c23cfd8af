"""One rule for digits typed in any script, shared by the sensitive-data
scanner and the identifier validators (mobiles).

``fold(text)``: Unicode NFKC (full-width ``１３８`` -> ``138``, ideographic
space U+3000 and NBSP -> space, full-width ``Ｘ`` -> ``X``, circled and
superscript digits -> digits), then every remaining decimal digit of any
script (Arabic-Indic ``١٣٨``, Devanagari, ... : ``str.isdecimal``) -> its
ASCII digit, and invisible format characters (zero-width space/joiner, soft
hyphen, BOM, direction marks, word joiner) removed. The result holds no
non-ASCII digit.
"""
import re
import unicodedata

# Non-ASCII decimal digits (``\d`` is Unicode-aware) and the format characters
# people paste between digits: soft hyphen, Arabic letter mark, Mongolian vowel
# separator, zero-width space/joiners, direction marks and embeddings, word
# joiner and invisible operators, BOM.
_WORK = re.compile("(?![0-9])\\d|[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e"
                   "\u2060-\u2064\u2066-\u206f\ufeff]")


def _fold_char(c):
    if c.isdecimal() and not c.isascii():
        return str(unicodedata.decimal(c))
    if unicodedata.category(c) == "Cf":
        return ""
    return c


# Text made only of ASCII, CJK unified ideographs (no decompositions) and the
# common CJK punctuation below needs no NFKC for any rule here: NFKC would only
# turn the full-width ！（），：；？ into ASCII punctuation, which no rule reads.
_PLAIN = re.compile("[\x00-\x7f\u4e00-\u9fff\u3001\u3002\u300a-\u3011\u2018\u2019"
                    "\u201c\u201d\uff01\uff08\uff09\uff0c\uff1a\uff1b\uff1f]*")


def fold(text):
    if text.isascii() or _PLAIN.fullmatch(text):
        return text
    text = unicodedata.normalize("NFKC", text)
    if text.isascii() or not _WORK.search(text):
        return text
    return "".join(_fold_char(c) for c in text)
