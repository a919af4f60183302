"""core.bounds.check_text: the one-regex fast path refuses exactly what the character rule refuses."""

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huiqi.core import bounds

BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def refused_by_rule(text: str) -> bool:
    return any((unicodedata.category(ch) == "Cc" and ch not in "\t\n\r") or ch in BIDI for ch in text)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_fast_path_agrees_with_the_character_rule(text):
    if refused_by_rule(text):
        with pytest.raises(bounds.OutOfBounds):
            bounds.check_text(text)
    else:
        assert bounds.check_text(text) is text


@pytest.mark.parametrize("text,where", [("甲\x00乙", "第2个字符"), ("ab\u202ecd", "U+202E，第3个字符"),
                                        ("\x85x", "U+0085，第1个字符")])
def test_refusal_names_the_character_and_its_place(text, where):
    with pytest.raises(bounds.OutOfBounds, match=re.escape(where)):
        bounds.check_text(text)


def test_over_long_text_refused_even_when_clean():
    with pytest.raises(bounds.OutOfBounds, match="文字过长"):
        bounds.check_text("好" * 11, max_chars=10)
    assert bounds.check_text("好" * 10, max_chars=10) == "好" * 10
