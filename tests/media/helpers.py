"""In-process helpers: upload a photo through the app (tus creation-with-upload), sign in."""

from __future__ import annotations

from typing import Any

from tests.factories import auth_headers

TUS = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}


async def upload_photo(client: Any, headers: dict[str, str], data: bytes) -> Any:
    """POST the whole photo with the creation request; return the response."""
    return await client.post(
        "/media/uploads/", headers={**headers, **TUS, "Upload-Length": str(len(data))}, content=data
    )


async def sign_in(client: Any, *usernames: str) -> dict[str, dict[str, str]]:
    return {name: await auth_headers(client, name) for name in usernames}
