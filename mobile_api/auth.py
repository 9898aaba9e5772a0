"""Access tokens (short-lived JWT) and the dependency that turns one into an :class:`Actor`."""

from __future__ import annotations

import time
from typing import Any

import jwt
from litestar import Request
from litestar.connection import ASGIConnection
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.identity import Actor
from backend.identity.errors import TokenExpired, TokenInvalid, Unauthenticated
from backend.identity.service import load_actor

ALGORITHM = "HS256"
AUDIENCE = "fieldsync"


def issue_access_token(settings: Settings, *, user_id: str, device_id: str) -> tuple[str, int]:
    now = int(time.time())
    claims = {
        "sub": user_id,
        "did": device_id,
        "iat": now,
        "exp": now + settings.access_token_ttl_s,
        "aud": AUDIENCE,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), settings.access_token_ttl_s


# Tokens whose signature was verified, with their claims, by (secret, token): a request's token is
# checked by the rate limiter and again by its route, and a phone sends the same token for up to
# its lifetime. The expiry is checked on every use; the cache is dropped whole when it is full.
_VERIFIED: dict[tuple[str, str], dict[str, Any]] = {}
_VERIFIED_MAX = 4096


def decode_access_token(settings: Settings, token: str) -> dict[str, Any]:
    key = (settings.secret_key, token)
    claims = _VERIFIED.get(key)
    if claims is not None:
        if claims["exp"] <= time.time():  # PyJWT's rule: expired from ``exp`` on (no leeway)
            raise TokenExpired("access token expired; refresh it")
        return claims
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=[ALGORITHM], audience=AUDIENCE)
    except jwt.ExpiredSignatureError:
        raise TokenExpired("access token expired; refresh it") from None
    except jwt.PyJWTError:
        raise TokenInvalid("access token is not valid") from None
    if isinstance(claims.get("exp"), int | float):
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[key] = claims
    return claims


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return token.strip()
    # Browsers cannot set headers on a WebSocket (and only there): the token may come as a query
    # parameter. Anywhere else it would end up in access logs and proxies, so it is not read.
    token = connection.query_params.get("access_token", "") if connection.scope["type"] == "websocket" else ""
    if token:
        return token
    raise Unauthenticated("send 'Authorization: Bearer <access token>'", code="unauthenticated")


def token_subject(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[str, str | None]:
    """(user id, device id) of the connection's valid access token; no database involved."""
    settings: Settings = connection.app.state.settings
    claims = decode_access_token(settings, bearer_token(connection))
    return str(claims.get("sub")), claims.get("did")


async def actor_from_connection(
    connection: ASGIConnection[Any, Any, Any, Any], session: AsyncSession
) -> Actor:
    """The caller, checked against the database (user active, device not revoked) in ``session``."""
    return await load_actor(session, *token_subject(connection))


async def provide_actor(request: Request[Any, Any, Any], db_session: AsyncSession) -> Actor:
    actor = await actor_from_connection(request, db_session)
    request.state.actor = actor
    return actor
