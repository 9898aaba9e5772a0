"""The verified-token cache of ``mobile_api.auth``: a cached token still expires, and a token is
only cached under the secret that verified it."""

from __future__ import annotations

import time

import pytest

from backend.config import Settings
from backend.identity.errors import TokenExpired, TokenInvalid
from mobile_api import auth


def test_a_cached_token_expires_and_another_secret_does_not_see_it(monkeypatch):
    settings = Settings(secret_key="k" * 40)
    token, ttl = auth.issue_access_token(settings, user_id="u1", device_id="d1")
    assert auth.decode_access_token(settings, token)["sub"] == "u1"
    assert (settings.secret_key, token) in auth._VERIFIED
    assert auth.decode_access_token(settings, token)["did"] == "d1"  # from the cache
    with pytest.raises(TokenInvalid):
        auth.decode_access_token(Settings(secret_key="x" * 40), token)
    later = time.time() + ttl + 1
    monkeypatch.setattr(auth.time, "time", lambda: later)
    with pytest.raises(TokenExpired):
        auth.decode_access_token(settings, token)
