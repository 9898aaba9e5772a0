"""Photos: tus uploads, Pillow validation and derivatives, content-addressed storage, visibility."""

from backend.media.models import MediaAttachment, Photo, Upload
from backend.media.service import attach, attached_hashes
from backend.media.visibility import register_record_type

__all__ = ["MediaAttachment", "Photo", "Upload", "attach", "attached_hashes", "register_record_type"]
