"""统一社会信用代码 (GB 32100-2015) and 组织机构代码 (GB 11714-1997) check characters.

Layout of the 18 characters::

    1     登记管理部门码 (9 = 工商/市场监管)
    2     机构类别码 (for 9: 1 企业, 2 个体工商户, 3 农民专业合作社)
    3-8   登记管理机关行政区划码 (6 digits, GB/T 2260)
    9-17  主体标识码 = 组织机构代码 (8-char body + GB 11714 check char)
    18    校验码 (GB 32100: Σ value·weight mod 31)

The code charset is the digits and the capital letters except I, O, Z, S, V.
"""

from __future__ import annotations

import random

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUE = {c: i for i, c in enumerate(CHARSET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3**i mod 31

ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# 登记管理部门码 → 机构类别码 → meaning (GB 32100-2015 附录 A, with the later assigned departments).
DEPARTMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": ("司法行政", {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所", "4": "司法鉴定机构",
                       "5": "仲裁委员会", "9": "其他"}),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": ("旅游", {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"}),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"}),
    "Y": ("其他", {"1": ""}),
}


def check_digit(first17: str) -> str:
    """The 18th character (GB 32100-2015 §5): C18 = 31 − (Σ Ci·Wi mod 31), 31 → 0."""
    if len(first17) != 17:
        raise ValueError(f"需要17位本体代码，实际{len(first17)}位")
    try:
        total = sum(VALUE[c] * w for c, w in zip(first17, WEIGHTS))
    except KeyError as e:  # pragma: no cover - message path
        raise ValueError(f"非法字符 {e.args[0]!r}") from None
    return CHARSET[(31 - total % 31) % 31]


def org_check_char(body8: str) -> str:
    """GB 11714-1997 组织机构代码 check character: C9 = 11 − (Σ Ci·Wi mod 11); 10 → X, 11 → 0.

    Digits count as their value, letters A–Z as 10–35.
    """
    if len(body8) != 8:
        raise ValueError(f"组织机构代码本体应为8位，实际{len(body8)}位")
    total = 0
    for c, w in zip(body8, ORG_WEIGHTS):
        if c.isdigit():
            v = ord(c) - 48
        elif "A" <= c <= "Z":
            v = ord(c) - 55
        else:
            raise ValueError(f"非法字符 {c!r}")
        total += v * w
    r = 11 - total % 11
    return "X" if r == 10 else "0" if r == 11 else str(r)


def org_code_valid(code: str) -> bool:
    """Whether characters 9–17 of a credit code form a valid GB 11714 组织机构代码 (informative only:
    GB 32100 itself checks only the 18th character)."""
    if len(code) != 18:
        return False
    body, chk = code[8:16], code[16]
    try:
        return org_check_char(body) == chk
    except ValueError:
        return False


def explain_invalid(code: str) -> str | None:
    """None if `code` is a valid 统一社会信用代码, else the first reason (in Chinese) why not."""
    if not isinstance(code, str):
        return "统一社会信用代码应为文本"
    if len(code) != 18:
        return f"统一社会信用代码应为18位，实际{len(code)}位"
    for pos, c in enumerate(code, start=1):
        if c not in VALUE:
            if c in "IOZSV":
                return f"第{pos}位字符“{c}”不在代码字符集内（不使用I、O、Z、S、V）"
            if "a" <= c <= "z":
                return f"第{pos}位字符“{c}”应为大写字母"
            return f"第{pos}位字符“{c}”为非法字符"
    dept = DEPARTMENTS.get(code[0])
    if dept is None:
        return f"第1位登记管理部门码“{code[0]}”无效"
    if code[1] not in dept[1]:
        return f"第2位机构类别码“{code[1]}”对登记管理部门“{dept[0]}”（{code[0]}）无效"
    if not code[2:8].isdigit():
        return f"第3—8位登记管理机关行政区划码“{code[2:8]}”应为6位数字"
    expected = check_digit(code[:17])
    if code[17] != expected:
        return f"第18位校验码错误：校验码应为{expected}，实际为{code[17]}"
    return None


def is_valid(code: str) -> bool:
    """True if `code` is a well-formed 统一社会信用代码 with a correct check digit (GB 32100-2015)."""
    return explain_invalid(code) is None


def make_code(rng: random.Random, area_code6: str, *, modern: bool | None = None) -> str:
    """A valid 企业 code ("91" + 行政区划 + 组织机构代码 with GB 11714 check + GB 32100 check digit).

    `modern` (default: random) chooses a post-2015 主体标识码 "MA" + 6 chars, else an 8-digit legacy 组织机构代码.
    """
    if len(area_code6) != 6 or not area_code6.isdigit():
        raise ValueError(f"行政区划代码应为6位数字：{area_code6!r}")
    if modern is None:
        modern = rng.random() < 0.6
    if modern:
        body = "MA" + "".join(rng.choice(CHARSET) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    first17 = "91" + area_code6 + body + org_check_char(body)
    return first17 + check_digit(first17)
