"""tus uploads, media serving and evidence proofs (the ``media_*`` modules, collected here)."""

from __future__ import annotations

from typing import Any

from mobile_api.routes import media_evidence, media_files, media_uploads

ROUTES: list[Any] = [*media_uploads.ROUTES, *media_files.ROUTES, *media_evidence.ROUTES]
