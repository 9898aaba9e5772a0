"""Tables of media: tus uploads, content-addressed photos and their attachments to records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, IdStr, JsonDoc, new_id, utcnow

Sha256Hex = String(64)

UPLOAD_STATUSES = ("uploading", "complete", "rejected")
DERIVATIVE_STATUSES = ("pending", "ready", "failed")


class Upload(Base):
    """One tus upload. Kept after completion: it records who sent which bytes, from which device, when."""

    __tablename__ = "media_uploads"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(String(64))
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    part_keys: Mapped[list[str]] = mapped_column(JsonDoc, default=list)  # storage keys, in offset order
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="uploading")
    reject_code: Mapped[str | None] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(Sha256Hex, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    # The PATCH writing this upload now (any API process), until when: a second PATCH meanwhile
    # gets 423 upload_locked (backend/media/upload_lock.py).
    writer: Mapped[str | None] = mapped_column(String(32), default=None)
    writer_until: Mapped[datetime | None] = mapped_column(default=None)


class Photo(Base):
    """A stored original, addressed by the SHA-256 of its bytes, with its evidence metadata.

    ``uploader_*``/``device_id``/``uploaded_at`` describe the first upload of these bytes; every
    later upload of the same bytes is in ``media_uploads``.
    """

    __tablename__ = "media_photos"

    sha256: Mapped[str] = mapped_column(Sha256Hex, primary_key=True)
    byte_size: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(8))
    mime_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    orientation: Mapped[int] = mapped_column(Integer, default=1)
    captured_at: Mapped[str | None] = mapped_column(String(40))  # EXIF wall time, offset when recorded
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    camera_make: Mapped[str | None] = mapped_column(String(120))
    camera_model: Mapped[str | None] = mapped_column(String(120))
    uploader_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    uploader_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    derivatives: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    derivatives_error: Mapped[str | None] = mapped_column(String(200))

    def evidence(self) -> dict[str, Any]:
        """The evidence metadata as a JSON document (what the evidence log commits to)."""
        return {
            "sha256": self.sha256,
            "byte_size": self.byte_size,
            "mime_type": self.mime_type,
            "width": self.width,
            "height": self.height,
            "captured_at": self.captured_at,
            "gps": [self.gps_lat, self.gps_lon] if self.gps_lat is not None else None,
            "camera_make": self.camera_make,
            "camera_model": self.camera_model,
            "uploader_user_id": self.uploader_user_id,
            "uploader_org_id": self.uploader_org_id,
            "device_id": self.device_id,
            "uploaded_at": self.uploaded_at.isoformat(),
        }


class MediaAttachment(Base):
    """A photo attached to a domain record (an acceptance, an inspection, a message…)."""

    __tablename__ = "media_attachments"
    __table_args__ = (UniqueConstraint("record_type", "record_id", "kind", "sha256"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    sha256: Mapped[str] = mapped_column(ForeignKey("media_photos.sha256"), index=True)
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20), default="photo")
    attached_by_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    attached_by_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    attached_at: Mapped[datetime] = mapped_column(default=utcnow)
