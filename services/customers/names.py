"""Company-name keys for duplicate detection (plain functions, no I/O).

``name_key`` — two names are "the same" when their keys are equal:
  NFKC (full-width → half-width, U+3000 → space), case-folded, every whitespace and
  bracket character removed (the bracketed text stays: ``华为技术（深圳）`` =
  ``华为技术(深圳)`` = ``华为技术深圳``), a few separators removed (``·・-_.,，、``),
  and ``有限责任公司`` written ``有限公司`` (the same legal form, 公司法).

``similar_key`` — "similar in the same region": equal similar keys and equal regions
(``region_key``; the stored column holds both, ``stored_similar_key``). The similar key
is the name key without
  - its legal-form ending (``股份有限公司``, ``有限公司``, ``集团``, ``公司``, ``co.,ltd`` …,
    repeatedly: ``…集团有限公司`` loses both),
  - place names: the customer's own region (with or without 省/市/区/县) and every
    provincial-level name, wherever they stand (``上海蓝天科技`` ~ ``蓝天科技(上海)``).
A similar key shorter than 2 characters is not used (it would match everything).
"""
import functools
import re
import unicodedata

_BRACKETS = "()[]{}<>【】〔〕〖〗《》「」『』〈〉"
_SEPARATORS = "·・-_.,、;:'\"‘’“”/\\"
_DROP = re.compile("[\\s" + re.escape(_BRACKETS + _SEPARATORS) + "]+")
_LEGAL_FORMS = ("股份有限公司", "有限公司", "集团公司", "集团", "公司", "有限合伙", "合伙企业",
                "coltd", "ltd", "limited", "inc", "corp", "corporation", "co", "llc", "gmbh")
PROVINCES = ("北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏",
             "浙江", "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南",
             "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏",
             "宁夏", "新疆", "香港", "澳门")
_PLACE_SUFFIXES = ("特别行政区", "壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "新区",
                   "省", "市", "区", "县")
MIN_SIMILAR = 2


def name_key(name):
    """The normalised name (see the module docstring); '' for an empty name."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    text = _DROP.sub("", text)
    return text.replace("有限责任公司", "有限公司")


def region_key(region):
    """A region without its administrative suffix: 上海市 = 上海, 广东省 = 广东."""
    key = name_key(region)
    for suffix in _PLACE_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix) + 1:
            return key[:-len(suffix)]
    return key


@functools.lru_cache(maxsize=4096)
def _place_pattern(places):
    alts = "|".join(sorted((re.escape(p) for p in places), key=len, reverse=True))
    sufs = "|".join(re.escape(s) for s in _PLACE_SUFFIXES)
    return re.compile(f"(?:{alts})(?:{sufs})?")


_PROVINCE_RE = _place_pattern(PROVINCES)


def similar_key(name, region=None):
    """The name key without legal form and place names; None when too short to use."""
    return _core(name_key(name), region_key(region))


def _core(key, place):
    stripped = True
    while stripped:
        stripped = False
        for form in _LEGAL_FORMS:
            if key.endswith(form) and len(key) > len(form):
                key, stripped = key[:-len(form)], True
                break
    if len(place) >= 2 and place not in PROVINCES:
        key = _place_pattern((place,)).sub("", key)
    key = _PROVINCE_RE.sub("", key)
    return key if len(key) >= MIN_SIMILAR else None


def stored_similar_key(name, region=None):
    """What ``customers.similar_key`` holds: ``<region_key>|<similar_key>``, so that one
    equality through its index is "similar name in the same region"; None without a
    region or a usable similar key."""
    return keys(name, region)["similar_key"]


def keys(name, region=None):
    """{"name_key", "similar_key"} for a customer record (the stored columns)."""
    nk, place = name_key(name), region_key(region)
    core = _core(nk, place)
    return {"name_key": nk[:200] or None,
            "similar_key": f"{place}|{core}"[:200] if core and place else None}
