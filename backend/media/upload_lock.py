"""One writer at a time per tus upload, across every API process: a lease on the upload's row.

A ``PATCH`` takes the lease (an ``UPDATE`` that succeeds only when no other writer holds it, or
its lease has lapsed) before it reads the body, keeps it while the body streams in, and gives it
back when done. A second ``PATCH`` of the same upload meanwhile — another process behind the load
balancer, a phone retrying while its first request still runs — is refused at once with
``423 upload_locked`` and ``Retry-After``, instead of both streaming and one losing at commit
(tusd's well-known problem behind a load balancer). A process killed mid-``PATCH`` stops renewing;
the lease lapses after ``WRITER_LEASE_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import utcnow
from backend.media.errors import UploadLocked
from backend.media.models import Upload

log = logging.getLogger("fieldsync.media")

#: How long a writer's lease lasts unless renewed (it is renewed every third of that).
WRITER_LEASE_S = 10.0

Factory = async_sessionmaker[AsyncSession]


async def _take(factory: Factory, upload_id: str, token: str) -> bool:
    now = utcnow()
    async with factory() as session, session.begin():
        taken = await session.execute(
            update(Upload)
            .where(Upload.id == upload_id, or_(Upload.writer_until.is_(None), Upload.writer_until < now))
            .values(writer=token, writer_until=now + timedelta(seconds=WRITER_LEASE_S))
            .execution_options(synchronize_session=False)
        )
        return taken.rowcount == 1


async def _renew(factory: Factory, upload_id: str, token: str) -> None:
    while True:
        await asyncio.sleep(WRITER_LEASE_S / 3)
        try:
            async with factory() as session, session.begin():
                await session.execute(
                    update(Upload)
                    .where(Upload.id == upload_id, Upload.writer == token)
                    .values(writer_until=utcnow() + timedelta(seconds=WRITER_LEASE_S))
                    .execution_options(synchronize_session=False)
                )
        except Exception:
            log.warning("upload %s: could not extend the writer lease", upload_id, exc_info=True)


async def _release(factory: Factory, upload_id: str, token: str) -> None:
    async with factory() as session, session.begin():
        await session.execute(
            update(Upload)
            .where(Upload.id == upload_id, Upload.writer == token)
            .values(writer=None, writer_until=None)
            .execution_options(synchronize_session=False)
        )


@contextlib.asynccontextmanager
async def writing(factory: Factory, upload_id: str) -> AsyncIterator[None]:
    """Hold the upload's writer lease for the ``async with`` body, or raise :class:`UploadLocked`."""
    token = secrets.token_hex(16)
    if not await _take(factory, upload_id, token):
        raise UploadLocked(
            "another request is writing this upload; ask HEAD for the offset and retry shortly",
            details={"retry_after_s": 1},
        )
    keeper = asyncio.create_task(_renew(factory, upload_id, token))
    try:
        yield
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        try:
            await _release(factory, upload_id, token)
        except Exception:  # it lapses by itself
            log.warning("upload %s: could not give the writer lease back", upload_id, exc_info=True)
