import random

import pytest

from huiqi.data.credit_code import CHARSET, check_digit, explain_invalid, is_valid, make_code, org_check_char, org_code_valid

# Published codes (the GB 32100-2015 example, and three well-known companies' codes as printed on their licences);
# each also satisfies the GB 11714 check of its 组织机构代码 part.
KNOWN_VALID = ["91350100M000100Y43", "91330100716105852F", "914403001922038216", "9144030071526726XG"]


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_known_valid_codes(code):
    assert is_valid(code)
    assert explain_invalid(code) is None
    assert check_digit(code[:17]) == code[17]
    assert org_code_valid(code)


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_every_single_substitution_is_detected(code):
    for pos in range(2, 17):  # body characters (the first two are checked as 部门/类别 codes)
        for c in CHARSET:
            if c != code[pos]:
                mutated = code[:pos] + c + code[pos + 1:]
                if mutated[2:8].isdigit():
                    assert not is_valid(mutated), mutated
                    assert "校验码应为" in explain_invalid(mutated)


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_adjacent_transpositions_are_detected(code):
    for pos in range(2, 17):
        a, b = code[pos], code[pos + 1]
        if a != b:
            swapped = code[:pos] + b + a + code[pos + 2:]
            assert not is_valid(swapped)


def test_reasons():
    assert "18位" in explain_invalid("9135010")
    assert "I、O、Z、S、V" in explain_invalid("91350100M000100I43")
    assert "大写" in explain_invalid("91350100m000100Y43")
    assert "登记管理部门码" in explain_invalid("B1350100M000100Y43")
    assert "机构类别码" in explain_invalid("94350100M000100Y43")
    r = explain_invalid("91350100M000100Y44")
    assert r is not None and "校验码应为3" in r


def test_org_check_char_gb11714():
    # D2143569-X is the usual GB 11714 worked example; 71610585-2 is Alibaba's 组织机构代码.
    assert org_check_char("D2143569") == "X"
    assert org_check_char("71610585") == "2"


def test_make_code_valid_and_in_area():
    rng = random.Random(7)
    codes = [make_code(rng, "450205") for _ in range(2000)]
    assert all(is_valid(c) and org_code_valid(c) for c in codes)
    assert all(c.startswith("91450205") for c in codes)
    assert any(c[8:10] == "MA" for c in codes) and any(c[8:16].isdigit() for c in codes)
    with pytest.raises(ValueError):
        make_code(rng, "4502")
