"""Organisations, regions, users, devices and refresh tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.changefeed import Syncable
from backend.db import Base, IdStr, new_id, utcnow

ORG_KINDS = ("supplier", "distributor", "terminal", "service_provider")
REGION_LEVELS = ("country", "province", "city", "district")
CLIENT_ID_MAX = 64  # a device's client_id column; the API refuses longer names
ROLES = ("admin", "supplier_staff", "distributor_staff", "field_staff", "inspector", "support_agent")


class Region(Syncable, Base):
    __tablename__ = "regions"
    __sync_entity__ = "region"
    __sync_types__: ClassVar[dict[str, Any]] = {"level": Literal[REGION_LEVELS]}

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("regions.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return {"reference"}


class Organisation(Syncable, Base):
    __tablename__ = "organisations"
    __sync_entity__ = "organisation"
    __sync_types__: ClassVar[dict[str, Any]] = {"kind": Literal[ORG_KINDS]}

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(40), unique=True)
    region_id: Mapped[str | None] = mapped_column(ForeignKey("regions.id"), index=True)
    # A terminal is served by one distributor; the distributor's staff see it.
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        # ``orgcard:<id>`` holds this row alone: the card its trading partners may see (name, code,
        # kind, region), without anything else of the organisation's (sync/scopes.py says who).
        scopes = {f"org:{get('id')}", f"orgcard:{get('id')}"}
        if get("parent_id"):
            scopes.add(f"org:{get('parent_id')}")
        if get("kind") == "supplier":
            scopes.add(f"catalog:{get('id')}")
        return scopes


class User(Syncable, Base):
    __tablename__ = "users"
    __sync_entity__ = "user"
    __sync_exclude__: ClassVar[frozenset[str]] = frozenset({"password_hash", "failed_logins", "locked_until"})
    __sync_types__: ClassVar[dict[str, Any]] = {"role": Literal[ROLES]}

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return {f"user:{get('id')}", f"org:{get('org_id')}"}


class Device(Base):
    """One phone (or browser) a user signed in from; refresh tokens are bound to it."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(CLIENT_ID_MAX))
    platform: Mapped[str] = mapped_column(String(16))
    app_version: Mapped[str] = mapped_column(String(32), default="")
    push_token: Mapped[str | None] = mapped_column(String(512), default=None)
    push_token_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (UniqueConstraint("user_id", "client_id"),)


class RefreshToken(Base):
    """A rotating refresh token; presenting a used one revokes the whole device session."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
