"""Sign-in, token refresh, sign-out, ``/me`` and revocation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import get, post
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from backend.bounds import one_of
from backend.errors import DomainError
from backend.identity import Actor, Device, User
from backend.identity import service as identity
from mobile_api.auth import issue_access_token
from mobile_api.params import PathId
from mobile_api.schemas import Out, Strict

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


Platform = one_of("android", "ios", "web", "cli")


class LoginIn(Strict):
    username: Name
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "web"
    platform: Platform = "web"
    app_version: Annotated[str, msgspec.Meta(max_length=32)] = ""
    push_token: Annotated[str, msgspec.Meta(max_length=512)] | None = None


class RefreshIn(Strict):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class UserOut(Out):
    id: str
    org_id: str
    username: str
    display_name: str
    role: str
    active: bool


class TokensOut(msgspec.Struct):
    access_token: str
    refresh_token: str
    expires_in: int
    device_id: str
    user: UserOut
    token_type: str = "Bearer"


class DeviceOut(Out):
    id: str
    user_id: str
    client_id: str
    platform: str
    app_version: str
    created_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None


@asynccontextmanager
async def kept_when_refused(session: AsyncSession) -> AsyncIterator[None]:
    """Commit what a refused attempt wrote (a failure count, a revoked device), then refuse."""
    try:
        yield
    except DomainError:
        await session.commit()
        raise


def _tokens(state: State, user: User, device: Device, refresh: str) -> TokensOut:
    access, ttl = issue_access_token(state.settings, user_id=user.id, device_id=device.id)
    return TokensOut(access, refresh, ttl, device.id, UserOut.of(user))


@post(
    "/auth/login",
    status_code=200,
    tags=["auth"],
    summary="Sign in with a password; binds the session to a device",
)
async def login(data: LoginIn, state: State, db_session: AsyncSession) -> TokensOut:
    settings = state.settings
    async with kept_when_refused(db_session):  # failed attempts count even though the request fails
        user = await identity.authenticate(
            db_session,
            data.username,
            data.password,
            max_failures=settings.login_max_failures,
            lockout_s=settings.login_lockout_s,
        )
    device, refresh = await identity.open_device_session(
        db_session,
        user,
        client_id=data.client_id,
        platform=data.platform,
        app_version=data.app_version,
        push_token=data.push_token,
        refresh_ttl_s=settings.refresh_token_ttl_s,
    )
    return _tokens(state, user, device, refresh)


@post(
    "/auth/refresh",
    status_code=200,
    tags=["auth"],
    summary="Rotate a refresh token; reusing an old one revokes the device",
)
async def refresh(data: RefreshIn, state: State, db_session: AsyncSession) -> TokensOut:
    async with kept_when_refused(db_session):  # a detected reuse revokes the device: keep that
        user, device, raw = await identity.rotate_refresh(
            db_session, data.refresh_token, refresh_ttl_s=state.settings.refresh_token_ttl_s
        )
    return _tokens(state, user, device, raw)


class SignedOut(msgspec.Struct):
    status: str = "signed_out"


class MyOrganisation(Out):
    id: str
    name: str
    kind: str
    region_id: str | None


class MeOut(msgspec.Struct):
    user: UserOut
    organisation: MyOrganisation
    device_id: str | None


@post("/auth/logout", tags=["auth"], summary="Sign this device out", status_code=200)
async def logout(actor: Actor, db_session: AsyncSession) -> SignedOut:
    if actor.device_id:
        await identity.revoke_device(db_session, actor, actor.device_id)
    return SignedOut()


@get("/me", tags=["auth"], summary="The signed-in user, their organisation and device")
async def me(actor: Actor, db_session: AsyncSession) -> MeOut:
    user = await identity.get_user(db_session, actor, actor.user_id)
    org = await identity.get_organisation(db_session, actor.org_id)
    return MeOut(UserOut.of(user), MyOrganisation.of(org), actor.device_id)


@post(
    "/devices/{device_id:str}/revoke",
    status_code=200,
    tags=["auth"],
    summary="Sign a device out (own device, or admin)",
)
async def revoke_device(device_id: PathId, actor: Actor, db_session: AsyncSession) -> DeviceOut:
    return DeviceOut.of(await identity.revoke_device(db_session, actor, device_id))


@post(
    "/admin/users/{user_id:str}/revoke",
    status_code=200,
    tags=["admin"],
    summary="Disable a user and sign out all devices",
)
async def revoke_user(user_id: PathId, actor: Actor, db_session: AsyncSession) -> UserOut:
    return UserOut.of(await identity.revoke_user(db_session, actor, user_id))


PUBLIC_ROUTES = [login, refresh]
ROUTES = [logout, me, revoke_device, revoke_user]
