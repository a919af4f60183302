"""WEB9-2: the session cookie's stored id is remembered per cookie value; it is still the SHA-256 the table holds."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.interfaces.web import auth


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_the_id_is_the_cookies_sha256(token):
    expected = hashlib.sha256(token.encode()).hexdigest()
    assert auth._token_id(token) == expected
    assert auth._token_id(token) == expected  # remembered: the same answer again


def test_bounded():
    info = auth._token_id.cache_info()
    assert info.maxsize == 4096
    for i in range(5000):
        auth._token_id(f"random-cookie-{i}")
    assert auth._token_id.cache_info().currsize <= 4096
