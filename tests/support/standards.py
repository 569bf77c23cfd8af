"""Reference checks and generators written from the standards, for tests.

Every test that needs a valid (or deliberately invalid) resident ID, bank card,
unified social credit code or organisation code takes it from here, never from
the library the code under test uses (python-stdnum) nor from that code itself.
Each function below is written from the text of its standard:

- GB 11643-1999 公民身份号码: 6-digit address code, 8-digit birth date
  (YYYYMMDD), 3-digit sequence code, 1 check character. Check (ISO 7064
  MOD 11-2): weight of the character at position i (1-based, counted from the
  right, the check itself being i = 1) is W_i = 2^(i-1) mod 11; the check
  value a1 satisfies (sum(a_i * W_i, i = 2..18) + a1) ≡ 1 (mod 11), i.e.
  a1 = (12 - S mod 11) mod 11; a1 = 10 is written ``X``.
  Published sample (standard, appendix): ``11010519491231002X``.
- First-generation (15-digit) resident IDs (GB 11643-1989): 6-digit address
  code, YYMMDD birth date in the 1900s, 3-digit sequence, no check character.
- Bank cards (ISO/IEC 7812-1 Luhn): doubling every second digit from the
  right; valid when the total is a multiple of 10. PANs in China are 16-19 long.
- GB 11714-1997 组织机构代码: 8 body characters (digits, upper-case letters
  valued A=10 ... Z=35) weighted 3 7 9 10 5 8 4 2; C9 = 11 - (S mod 11),
  10 -> ``X``, 11 -> ``0``.
- GB 32100-2015 统一社会信用代码: registering authority (1) + category (1) +
  administrative division (6, GB/T 2260: a province-level prefix, or 100000) +
  organisation code (9, GB 11714) +
  check (1). Character set: digits and upper-case letters except I O Z S V
  (31 characters, values 0..30 in that order); weights W_i = 3^(i-1) mod 31
  for positions i = 1..17; C18 = 31 - (S mod 31), 31 -> ``0``.
  Authority/category codes: GB 32100-2015 Table 1 (登记管理部门码和机构类别码)
  as amended by GB 32100-2015/XG1-2016 (第1号修改单), in the form the code
  registry (CODS) publishes it: 12 authorities 1-9, ``A``, ``N``, ``Y`` (``Y``
  其他 has the single category ``1``), 36 authority/category pairs; taken from
  that publication as reproduced by independent public validators (the
  standard's and the amendment's own text were not at hand, so which rows the
  amendment introduced is not settled here). Same source and description as
  ``services/common/uscc.py``; see ``USCC_CATEGORIES``.
"""
import datetime as dt
import random
import re

from hypothesis import strategies as st

# --- GB 11643-1999 resident identity number ---------------------------------

RIC_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
RIC_SAMPLE = "11010519491231002X"  # published in GB 11643-1999
# Address codes that exist (GB/T 2260): Beijing Dongcheng/Xicheng/Chaoyang,
# Shanghai Huangpu, Shenzhen Futian/Nanshan, Guangzhou Tianhe, Hangzhou Xihu.
ADDRESS_CODES = ["110101", "110102", "110105", "310101", "440304", "440305",
                 "440106", "330106", "440308", "510104"]


def ric_check_char(body17):
    """The GB 11643 check character of a 17-digit body."""
    assert len(body17) == 17 and body17.isascii() and body17.isdigit(), body17
    s = sum(int(c) * w for c, w in zip(body17, RIC_WEIGHTS, strict=True))
    a1 = (12 - s % 11) % 11
    return "X" if a1 == 10 else str(a1)


def _real_date(y, m, d):
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def is_resident_id(value, today=None):
    """True for an 18-character GB 11643 number (X/x allowed) whose check
    character is right and whose birth date is a real day 1900-01-01..today,
    or a 15-digit first-generation number with a real 19YYMMDD birth date."""
    today = today or dt.date.today()
    if len(value) == 18 and value[:17].isascii() and value[:17].isdigit():
        if ric_check_char(value[:17]) != value[17].upper():
            return False
        born = _real_date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
        return born is not None and dt.date(1900, 1, 1) <= born <= today
    if len(value) == 15 and value.isascii() and value.isdigit():
        return _real_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12])) is not None
    return False


def resident_id(rng=None, born=None, address=None, seq=None):
    """A valid 18-character resident ID (check may be X)."""
    rng = rng or random
    address = address or rng.choice(ADDRESS_CODES)
    if born is None:
        span = (dt.date.today() - dt.date(1900, 1, 1)).days + 1
        born = dt.date(1900, 1, 1) + dt.timedelta(days=rng.randrange(span))
    seq = rng.randrange(1000) if seq is None else seq
    body = f"{address}{born:%Y%m%d}{seq:03d}"
    return body + ric_check_char(body)


def resident_id_x(rng=None):
    """A valid resident ID whose check character is X."""
    rng = rng or random
    while True:
        value = resident_id(rng)
        if value.endswith("X"):
            return value


def resident_id_wrong_check(rng=None):
    """An 18-character number with a real birth date but a wrong check character."""
    rng = rng or random
    value = resident_id(rng)
    wrong = rng.choice([c for c in "0123456789X" if c != value[17]])
    return value[:17] + wrong


def resident_id_15(rng=None, born=None):
    """A first-generation 15-digit ID: address + YYMMDD (1900s) + sequence."""
    rng = rng or random
    born = born or dt.date(1900, 1, 1) + dt.timedelta(days=rng.randrange(36524))
    return f"{rng.choice(ADDRESS_CODES)}{born:%y%m%d}{rng.randrange(1000):03d}"


# --- ISO/IEC 7812-1 Luhn (bank card numbers) ---------------------------------

CARD_PREFIXES = ["62", "4", "51", "55", "35", "6011"]  # UnionPay, Visa, MC, JCB, Discover


def luhn_sum(digits):
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total


def luhn_valid(digits):
    return digits.isascii() and digits.isdigit() and luhn_sum(digits) % 10 == 0


def luhn_check_digit(partial):
    """The digit that, appended, makes ``partial`` Luhn-valid."""
    return str((10 - luhn_sum(partial + "0") % 10) % 10)


def bank_card(rng=None, length=None):
    rng = rng or random
    length = length or rng.randint(16, 19)
    prefix = rng.choice(CARD_PREFIXES)
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - 1 - len(prefix)))
    return body + luhn_check_digit(body)


def bank_card_wrong_check(rng=None, length=None):
    card = bank_card(rng, length)
    return card[:-1] + str((int(card[-1]) + (rng or random).randint(1, 9)) % 10)


# --- GB 11714-1997 organisation code ----------------------------------------

ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def _org_value(c):
    return int(c) if c.isdigit() else ord(c) - ord("A") + 10


def org_check_char(body8):
    s = sum(_org_value(c) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    c9 = 11 - s % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


def is_org_code(value):
    return (len(value) == 9 and all(c in USCC_CHARSET for c in value[:8])
            and org_check_char(value[:8]) == value[8])


# --- GB 32100-2015 unified social credit code --------------------------------

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [3 ** i % 31 for i in range(17)]  # 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
# Registering authority -> category codes (GB 32100-2015 Table 1 as amended by
# GB 32100-2015/XG1-2016, as published by CODS; see the module docstring).
USCC_CATEGORIES = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 中央编办直接管理机构编制的群众团体, 其他
    "2": "19",    # 外交: 外国常驻新闻机构, 其他
    "3": "123459",  # 司法行政: 律师执业机构, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会, 其他
    "4": "19",    # 文化: 外国在华文化中心, 其他
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",   # 旅游: 外国旅游部门常驻代表机构, 港澳台地区旅游部门常驻内地代表机构, 其他
    "7": "129",   # 宗教: 宗教活动场所, 宗教院校, 其他
    "8": "19",    # 工会: 基层工会, 其他
    "9": "123",   # 工商/市场监管: 企业, 个体工商户, 农民专业合作社
    "A": "19",    # 中央军委改革和编制办公室: 军队事业单位, 其他
    "N": "1239",  # 农业: 组级/村级/乡镇级集体经济组织, 其他
    "Y": "1",     # 其他 (not divided further)
}
# GB/T 2260 province-level codes: characters 3-8 of a USCC are a division code
# starting with one of them, or 100000 for registration at national level.
PROVINCES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35",
             "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54",
             "61", "62", "63", "64", "65", "71", "81", "82"}
USCC_SAMPLES_VALID = ["Y1110105MA0000015R"]  # from issue 16; checked against the reference in tests
USCC_SAMPLES_WRONG_ORG_CHECK = ["91110000600037342P"]  # USCC check right, org-code check wrong


def uscc_check_char(body17):
    s = sum(USCC_CHARSET.index(c) * w for c, w in zip(body17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - s % 31) % 31]


def is_uscc(value):
    """Full GB 32100 check: charset, authority/category table, division code
    (six digits, GB/T 2260 province prefix or 100000), embedded GB 11714
    organisation code, check character."""
    if len(value) != 18 or any(c not in USCC_CHARSET for c in value):
        return False
    if value[1] not in USCC_CATEGORIES.get(value[0], ""):
        return False
    division = value[2:8]
    if not (division.isdigit() and (division[:2] in PROVINCES or division == "100000")):
        return False
    return is_org_code(value[8:17]) and uscc_check_char(value[:17]) == value[17]


def org_code(rng=None, digits_only=False):
    rng = rng or random
    alphabet = "0123456789" if digits_only else USCC_CHARSET
    body = "".join(rng.choice(alphabet) for _ in range(8))
    return body + org_check_char(body)


def uscc(rng=None, authority=None, category=None, division=None, digits_only=False):
    """A valid USCC; ``digits_only`` gives one made of digits alone."""
    rng = rng or random
    while True:
        a = authority or rng.choice("123456789" if digits_only else list(USCC_CATEGORIES))
        c = category or rng.choice(USCC_CATEGORIES[a])
        d = division or rng.choice(ADDRESS_CODES + ["110000", "310000", "440300"])
        org = org_code(rng, digits_only)
        body = a + c + d + org
        value = body + uscc_check_char(body)
        if not digits_only or value.isdigit():
            return value


# --- presentation variants (how people type numbers) ------------------------

FULLWIDTH = {ord(c): chr(ord(c) + 0xFEE0) for c in "0123456789Xx"}
SEPARATORS = [" ", "\u00a0", "\u3000", ".", "-", "\u2009", "\u202f"]


def fullwidth(value):
    return value.translate(FULLWIDTH)


def grouped(value, sep=" ", size=4):
    return sep.join(value[i:i + size] for i in range(0, len(value), size))


# --- hypothesis strategies --------------------------------------------------

def _rng_strategy():
    return st.randoms(use_true_random=False)


resident_ids = _rng_strategy().map(resident_id)
resident_ids_x = _rng_strategy().map(resident_id_x)
resident_ids_wrong_check = _rng_strategy().map(resident_id_wrong_check)
resident_ids_15 = _rng_strategy().map(resident_id_15)
bank_cards = _rng_strategy().map(bank_card)
bank_cards_wrong_check = _rng_strategy().map(bank_card_wrong_check)
usccs = _rng_strategy().map(uscc)
usccs_digits_only = _rng_strategy().map(lambda r: uscc(r, digits_only=True))
separators = st.sampled_from(SEPARATORS)


# --- an independent finder for artifacts (databases, logs, dumps) --------------

def ascii_digits(text):
    """NFKC, then every decimal digit of any script as its ASCII digit (the
    Unicode digit value property), so ``１``, ``١`` and ``1`` read alike."""
    import unicodedata
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


_GROUPS = re.compile(r"(?<![0-9A-Za-z])[0-9]+(?:([ .\-])[0-9]+(?:\1[0-9]+)*)?(?:\1?[Xx])?"
                     r"(?![0-9A-Za-z])")
_BARE18 = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


def _kind_of(token):
    if is_uscc(token.upper()):
        return None  # a unified social credit code is stored on purpose
    if is_resident_id(token):
        return "resident_id"
    if 16 <= len(token) <= 19 and luhn_valid(token):
        return "bank_card"
    return None


def _inside_hyphenated_token(text, m):
    """True when the digit run continues with ``-`` and a letter or digit on either
    side (the run is a part of a longer hyphenated token such as a UUID)."""
    after, before = text[m.end():m.end() + 2], text[max(0, m.start() - 2):m.start()]
    return (len(after) == 2 and after[0] == "-" and after[1].isalnum()) or \
        (len(before) == 2 and before[1] == "-" and before[0].isalnum())


def find_ids_and_cards(text):
    """[(kind, token)] for every resident ID / bank card in ``text``: bare numbers,
    numbers grouped by one kind of separator (space, dot, dash), 18-character IDs
    glued to letters; full width and other digit scripts read as ASCII."""
    text = ascii_digits(text)
    found = []
    for m in _GROUPS.finditer(text):
        run = m.group(0)
        tokens = {re.sub(r"[ .\-]", "", run), *re.split(r"[ .\-]", run)}
        if _inside_hyphenated_token(text, m):
            # a UUID's or a hash's leading digit groups (53970174-6261-4011-8abc-…):
            # joined they may pass Luhn, but they are one longer token, not a card
            tokens = set(re.split(r"[ .\-]", run))
        found += [(k, t) for t in tokens if (k := _kind_of(t))]
    # 18 characters glued to letters: a resident ID still (``ID11010519491231002X``), but
    # not a card (the scanner's rule: a number glued to letters is not a card), and not
    # inside a hex digest (audit hashes: 64 hex characters, digit runs by chance)
    for m in _BARE18.finditer(text):
        if _inside_hex_digest(text, m) or _kind_of(m.group(0)) != "resident_id":
            continue
        found.append(("resident_id", m.group(0)))
    return sorted(set(found))


_HEX_DIGEST = re.compile(r"[0-9a-f]{32,}")


def _inside_hex_digest(text, m):
    """True when the match lies within a run of 32 or more lower-case hex characters
    (an MD5/SHA digest or an HMAC as stored by the audit trail)."""
    start = m.start()
    while start > 0 and text[start - 1] in "0123456789abcdef":
        start -= 1
    end = m.end()
    while end < len(text) and text[end] in "0123456789abcdef":
        end += 1
    return bool(_HEX_DIGEST.fullmatch(text[start:end])) and m.group(0)[-1] in "0123456789"


def digits_of(text):
    """The digits (and X) of ``text`` in order: to look for a known number in
    whatever form it was written."""
    return "".join(c for c in ascii_digits(text).upper() if c.isdigit() or c == "X")
