"""A real fieldsync server for the crash test: after it commits a sync push it can be made to
hang before replying (so the test can ``kill -9`` it between commit and reply).

Run: ``python crashing_server.py <port> <marker-dir>``; settings come from ``FIELDSYNC_*``.
When ``<marker-dir>/arm`` exists, the next committed push writes ``<marker-dir>/committed``
and blocks the event loop, so no reply can leave the process.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from fieldsync.wiring import build_app
from sync.push import PUSH_MARK_KEY

port, marker_dir = int(sys.argv[1]), Path(sys.argv[2])
_real_commit = AsyncSession.commit


async def _commit_then_maybe_hang(self: AsyncSession) -> None:
    pushed = self.info.get(PUSH_MARK_KEY, False)
    await _real_commit(self)
    if pushed and (marker_dir / "arm").exists():
        (marker_dir / "committed").write_text("1")
        time.sleep(3600)  # blocks the loop: the reply never leaves; the test kills us


AsyncSession.commit = _commit_then_maybe_hang  # type: ignore[method-assign]
uvicorn.run(build_app(), host="127.0.0.1", port=port, log_level="warning")
