"""Unified social credit codes (统一社会信用代码), GB 32100-2015.

Layout (GB 32100-2015 §4): 1 registering-authority code + 1 category code +
6-digit administrative division of the registering authority (GB/T 2260) +
9-character organisation code (主体标识码, GB 11714) + 1 check character.
Characters: digits and upper-case letters except I, O, S, V, Z (31 characters,
valued 0-30 in the order of ``CHARSET``).

What is checked, each with its own message:

1. length 18, upper case, only ``CHARSET`` characters;
2. the authority and its category are in ``AUTHORITIES`` below;
3. characters 3-8 are six ASCII digits whose first two are a province-level
   code of GB/T 2260 (11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81, 82),
   or ``100000`` (registered at national level). The county part is not looked
   up: division codes change every year and the registering authority keeps
   the code it was given;
4. characters 9-17 are a GB 11714-1997 organisation code: 8 body characters
   (digit value, letters A=10 ... Z=35) weighted 3 7 9 10 5 8 4 2,
   C9 = 11 - (sum mod 11), 10 -> X, 11 -> 0;
5. character 18 (ISO 7064 MOD 31-3 as GB 32100 §5 gives it): weights
   1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28 (3^(i-1) mod 31),
   C18 = 31 - (sum mod 31), 31 -> 0.

The authority/category table
----------------------------
Source: GB 32100-2015 Table 1 (登记管理部门码和机构类别码) as amended by
GB 32100-2015/XG1-2016 (《法人和其他组织统一社会信用代码编码规则》第1号修改单),
in the form the code registry, 全国组织机构统一社会信用代码数据服务中心 (CODS),
publishes it ("统一社会信用代码 登记管理部门代码和机构类别代码"): 12 registering
authorities - 1 机构编制, 2 外交, 3 司法行政, 4 文化, 5 民政, 6 旅游, 7 宗教,
8 工会, 9 工商, A 中央军委改革和编制办公室, N 农业, Y 其他 (category 1 only) -
and 36 authority/category pairs. Neither the standard's nor the amendment's
own text was at hand: the table was taken from the registry's publication as
reproduced by several independent public validators, which agree entry for
entry, and which rows the amendment (rather than the 2015 text) introduced is
not settled here. ``tests/support/standards.py`` (``USCC_CATEGORIES``) holds
a second transcription from the same source, compared entry for entry by
``tests/unit/common/test_uscc.py``. Categories not in it (e.g.
``94``, ``A2``) are refused.

Why not python-stdnum: ``stdnum.cn.uscc`` checks the alphabet and the check
character only - not the authority/category table and not the embedded
organisation code (``91110000600037342P`` passes it) - and it wants digits in
characters 1-8, so it refuses the table's letter authorities A, N and Y
(``Y1110105MA0000015R``). Its check is five lines; keeping it underneath
would give two definitions of the same rule.
"""

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

AUTHORITIES = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位",
                   "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": ("司法行政", {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所",
                   "4": "司法鉴定机构", "5": "仲裁委员会", "9": "其他"}),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": ("旅游", {"1": "外国旅游部门常驻代表机构",
                 "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"}),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织",
                 "3": "乡镇级集体经济组织", "9": "其他"}),
    "Y": ("其他", {"1": "其他"}),
}

# GB/T 2260 province-level codes (first two digits of a division code).
PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82".split())
NATIONAL = "100000"

_NOT_IN_CHARSET = "I, O, S, V, Z"


def check_char(body17):
    """GB 32100 check character of the first 17 characters."""
    total = sum(CHARSET.index(c) * w for c, w in zip(body17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def org_check_char(body8):
    """GB 11714 check character of an 8-character organisation-code body."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w
                for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


def validate_uscc(value):
    """Return the code or raise ValueError naming the first part that is wrong.

    Messages name positions and the table, never the characters typed (error
    texts reach logs)."""
    if not isinstance(value, str) or len(value) != 18:
        raise ValueError("unified social credit code must be exactly 18 characters")
    if value != value.upper():
        raise ValueError("unified social credit code must use upper-case letters")
    for i, c in enumerate(value, 1):
        if c not in CHARSET:
            raise ValueError(f"not a valid unified social credit code: character {i} is not "
                             f"allowed (digits and A-Z except {_NOT_IN_CHARSET})")
    authority, category = value[0], value[1]
    if authority not in AUTHORITIES:
        raise ValueError("registering authority code (character 1) is not defined by "
                         f"GB 32100-2015 (defined: {', '.join(AUTHORITIES)})")
    name, categories = AUTHORITIES[authority]
    if category not in categories:
        raise ValueError("category code (character 2) is not defined for registering "
                         f"authority {authority} ({name}); defined: {', '.join(categories)}")
    division = value[2:8]
    if not (division.isdigit() and (division[:2] in PROVINCES or division == NATIONAL)):
        raise ValueError("administrative division code (characters 3-8) is not a GB/T 2260 "
                         f"code: six digits starting with a province code, or {NATIONAL}")
    if org_check_char(value[8:16]) != value[16]:
        raise ValueError("organisation code (characters 9-17) has a wrong GB 11714 "
                         "check character")
    if check_char(value[:17]) != value[17]:
        raise ValueError("unified social credit code has a wrong check character")
    return value


def is_uscc(value):
    try:
        validate_uscc(value)
    except ValueError:
        return False
    return True


def describe_uscc(value):
    """{"authority", "category", "division", "organisation_code"} of a valid code."""
    validate_uscc(value)
    name, categories = AUTHORITIES[value[0]]
    return {"authority": name, "category": categories[value[1]],
            "division": value[2:8], "organisation_code": value[8:17]}
