"""Identity services: organisations, regions, users, devices, sessions.

Every function takes the session it works in; the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import InvalidInput
from backend.events import queue_event
from backend.identity import errors
from backend.identity.access import Actor
from backend.identity.models import (
    CLIENT_ID_MAX,
    ORG_KINDS,
    REGION_LEVELS,
    ROLES,
    Device,
    Organisation,
    RefreshToken,
    Region,
    User,
)
from backend.identity.passwords import hash_password, verify_password

MIN_PASSWORD = 8


async def create_region(
    session: AsyncSession, *, level: str, code: str, name: str, parent_id: str | None = None
) -> Region:
    if level not in REGION_LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(REGION_LEVELS)}", code="invalid_region_level")
    if parent_id is not None and await session.get(Region, parent_id) is None:
        raise errors.RegionNotFound(f"parent region {parent_id} does not exist")
    if (await session.execute(select(Region.id).where(Region.code == code))).first():
        raise errors.Conflict(f"region code {code!r} is taken", code="region_exists")
    region = Region(level=level, code=code, name=name, parent_id=parent_id)
    session.add(region)
    await session.flush()
    return region


async def create_organisation(
    session: AsyncSession,
    *,
    kind: str,
    name: str,
    code: str,
    region_id: str | None = None,
    parent_id: str | None = None,
) -> Organisation:
    if kind not in ORG_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(ORG_KINDS)}", code="invalid_org_kind")
    if region_id is not None and await session.get(Region, region_id) is None:
        raise errors.RegionNotFound(f"region {region_id} does not exist")
    if parent_id is not None:
        parent = await session.get(Organisation, parent_id)
        if parent is None:
            raise errors.OrgNotFound(f"organisation {parent_id} does not exist")
        if kind == "terminal" and parent.kind != "distributor":
            raise InvalidInput("a terminal's parent must be a distributor", code="invalid_parent")
    if (await session.execute(select(Organisation.id).where(Organisation.code == code))).first():
        raise errors.Conflict(f"organisation code {code!r} is taken", code="organisation_exists")
    org = Organisation(kind=kind, name=name, code=code, region_id=region_id, parent_id=parent_id)
    session.add(org)
    await session.flush()
    return org


async def get_organisation(session: AsyncSession, org_id: str) -> Organisation:
    org = await session.get(Organisation, org_id)
    if org is None:
        raise errors.OrgNotFound(f"organisation {org_id} does not exist")
    return org


async def create_user(
    session: AsyncSession,
    *,
    org_id: str,
    username: str,
    display_name: str,
    role: str,
    password: str,
    password_hash: str | None = None,
) -> User:
    """Create a user; ``password_hash`` lets a seeder reuse one hash for many demo users."""
    if role not in ROLES:
        raise errors.BadRole(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD} characters", code="weak_password")
    await get_organisation(session, org_id)
    username = username.strip().lower()
    if not username:
        raise InvalidInput("username must not be empty", code="invalid_username")
    if (await session.execute(select(User.id).where(User.username == username))).first():
        raise errors.UserExists(f"username {username!r} is taken")
    user = User(
        org_id=org_id,
        username=username,
        display_name=display_name,
        role=role,
        password_hash=password_hash or hash_password(password),
    )
    session.add(user)
    await session.flush()
    return user


async def get_user(session: AsyncSession, actor: Actor, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None or (not actor.is_admin and user.org_id != actor.org_id):
        # Another organisation's user is reported as missing, not as forbidden.
        raise errors.UserNotFound(f"user {user_id} does not exist")
    return user


async def authenticate(
    session: AsyncSession, username: str, password: str, *, max_failures: int, lockout_s: int
) -> User:
    """Check a password; ``max_failures`` wrong tries lock the account for ``lockout_s``."""
    user = (
        await session.execute(select(User).where(User.username == username.strip().lower()))
    ).scalar_one_or_none()
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise errors.LoginLocked(
            "too many failed logins; try again later",
            details={"retry_after_s": int((user.locked_until - now).total_seconds()) + 1},
        )
    if not verify_password(user.password_hash if user else None, password) or user is None:
        if user is not None:
            await _count_failure(session, user, now, max_failures=max_failures, lockout_s=lockout_s)
        raise errors.InvalidCredentials("wrong username or password")
    if not user.active:
        raise errors.InvalidCredentials("this account is disabled")
    user.failed_logins = 0
    user.locked_until = None
    return user


async def _count_failure(
    session: AsyncSession, user: User, now: datetime, *, max_failures: int, lockout_s: int
) -> None:
    """Count one wrong password in the database, atomically (``failed_logins + 1`` in the
    statement), so API processes guessing at once can't lose each other's counts; lock the
    account when the count reaches ``max_failures``."""
    failures = await session.scalar(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    )
    if failures is not None and failures >= max_failures:
        await session.execute(
            update(User)
            .where(User.id == user.id)
            .values(failed_logins=0, locked_until=now + timedelta(seconds=lockout_s))
            .execution_options(synchronize_session=False)
        )
    await session.refresh(user, ["failed_logins", "locked_until"])


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def retired_client_id(client_id: str, device_id: str) -> str:
    """The name a revoked device row keeps so its `client_id` is free for the next sign-in.

    It must fit the column (64 characters) whatever the client sent: the device id (unique)
    after a `~`, behind as much of the old name as still fits.
    """
    suffix = f"~{device_id}"
    return client_id[: CLIENT_ID_MAX - len(suffix)] + suffix


async def open_device_session(
    session: AsyncSession,
    user: User,
    *,
    client_id: str,
    platform: str,
    app_version: str,
    push_token: str | None,
    refresh_ttl_s: int,
) -> tuple[Device, str]:
    """Register (or reuse) the user's device and issue its first refresh token."""
    device = (
        await session.execute(select(Device).where(Device.user_id == user.id, Device.client_id == client_id))
    ).scalar_one_or_none()
    if device is None or device.revoked_at is not None:
        if device is not None:
            # A revoked device signs in afresh as a new device record.
            device.client_id = retired_client_id(device.client_id, device.id)
            await session.flush()
        device = Device(user_id=user.id, client_id=client_id, platform=platform)
        session.add(device)
    device.platform = platform
    device.app_version = app_version
    if push_token:
        device.push_token = push_token
        device.push_token_active = True
    device.last_seen_at = utcnow()
    await session.flush()
    return device, await _issue_refresh(session, device, refresh_ttl_s)


async def _issue_refresh(session: AsyncSession, device: Device, ttl_s: int) -> str:
    raw = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            device_id=device.id,
            token_hash=_hash_token(raw),
            expires_at=utcnow() + timedelta(seconds=ttl_s),
        )
    )
    await session.flush()
    return raw


async def rotate_refresh(session: AsyncSession, raw: str, *, refresh_ttl_s: int) -> tuple[User, Device, str]:
    """Trade a refresh token for a new one. Presenting a used token revokes the device."""
    token = (
        await session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == _hash_token(raw)).with_for_update()
        )
    ).scalar_one_or_none()
    if token is None:
        raise errors.TokenInvalid("unknown refresh token")
    device = await session.get(Device, token.device_id)
    assert device is not None
    if device.revoked_at is not None:
        raise errors.DeviceRevoked("this device was signed out; sign in again")
    if token.used_at is not None:
        await _revoke_device_row(session, device)
        raise errors.RefreshReused(
            "this refresh token was already used; the device session is revoked, sign in again"
        )
    if token.expires_at <= utcnow():
        raise errors.TokenExpired("refresh token expired; sign in again")
    user = await session.get(User, device.user_id)
    assert user is not None
    if not user.active:
        raise errors.DeviceRevoked("this account is disabled")
    token.used_at = utcnow()
    device.last_seen_at = utcnow()
    return user, device, await _issue_refresh(session, device, refresh_ttl_s)


async def _revoke_device_row(session: AsyncSession, device: Device) -> None:
    device.revoked_at = utcnow()
    # After commit: the device's open live sockets are closed (mobile_api/ws.py).
    queue_event(session, f"user:{device.user_id}", {"type": "device.revoked", "device_id": device.id})
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.device_id == device.id, RefreshToken.used_at.is_(None))
        .values(used_at=utcnow())
    )


def visible_devices(actor: Actor, stmt: Select[Any]) -> Select[Any]:
    """Administrators see every device, organisation staff their colleagues', others their own."""
    if actor.is_admin:
        return stmt
    if actor.role in ("distributor_staff", "supplier_staff"):
        return stmt.join(User, User.id == Device.user_id).where(User.org_id == actor.org_id)
    return stmt.where(Device.user_id == actor.user_id)


async def get_device(session: AsyncSession, actor: Actor, device_id: str) -> Device:
    stmt = visible_devices(actor, select(Device)).where(Device.id == device_id)
    device = (await session.execute(stmt)).scalar_one_or_none()
    if device is None:
        # A device the caller may not see is reported as missing, not as forbidden.
        raise errors.DeviceNotFound(f"device {device_id} does not exist")
    return device


async def revoke_device(session: AsyncSession, actor: Actor, device_id: str) -> Device:
    """Sign a device out: one's own, or any as an administrator."""
    device = await get_device(session, actor, device_id)
    if device.user_id != actor.user_id:
        actor.require_admin()
    await _revoke_device_row(session, device)
    return device


async def revoke_user(session: AsyncSession, actor: Actor, user_id: str) -> User:
    actor.require_admin()
    user = await get_user(session, actor, user_id)
    user.active = False
    for device in (await session.execute(select(Device).where(Device.user_id == user_id))).scalars():
        if device.revoked_at is None:
            await _revoke_device_row(session, device)
    return user


async def load_actor(session: AsyncSession, user_id: str, device_id: str | None) -> Actor:
    """The caller behind an access token, refused if the user or device was revoked since.

    One query: the user, its organisation's kind and (with ``device_id``) the device's state."""
    params = {"user_id": user_id} if device_id is None else {"user_id": user_id, "device_id": device_id}
    row = (await session.execute(_actor_query(device_id is not None), params)).first()
    if row is None or not row.active:
        raise errors.DeviceRevoked("this account is disabled or gone; sign in again")
    if device_id is not None and (row.device_id is None or row.revoked_at is not None):
        raise errors.DeviceRevoked("this device was signed out; sign in again")
    return Actor(user_id=row.id, org_id=row.org_id, org_kind=row.kind, role=row.role, device_id=device_id)


@cache
def _actor_query(with_device: bool) -> Any:
    """Built once per shape (every request asks it: building the statement cost more than running it)."""
    columns: list[Any] = [User.id, User.org_id, User.role, User.active, Organisation.kind]
    query = select(*columns).join(Organisation, Organisation.id == User.org_id)
    query = query.where(User.id == bindparam("user_id"))
    if with_device:
        query = query.add_columns(Device.id.label("device_id"), Device.revoked_at).outerjoin(
            Device, and_(Device.id == bindparam("device_id"), Device.user_id == User.id)
        )
    return query
