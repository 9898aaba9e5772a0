"""Messages sent over the live socket, stored in batches (group commit).

Every ``{"type": "send"}`` frame of every socket of this process joins one queue; a writer task
takes everything that is waiting (up to :data:`MAX_BATCH`) and stores it with
:func:`backend.messaging.service.send_messages` in one transaction. A send is answered only
after that transaction committed, so nothing acknowledged is lost. The queue is first in, first
out, so the messages of a conversation keep the order they arrived in. (Several queues, a
conversation always in the same one, were tried on PostgreSQL: at 500 messages/s four made
batches four times smaller for the same fixed cost, and the p99 0.7 s against 0.1 s with one.)
Once sends arrive faster than one per :data:`MAX_LINGER_S`, the writer waits after the first
send of a batch for about :data:`TARGET_BATCH` of them (never longer than :data:`MAX_LINGER_S`),
so that a batch is worth its fixed cost; the time the first send already waited in the queue
(behind the previous batch's commit) counts towards that wait. When a batch fails as a whole
(a concurrent send's client id, a database error) it is rolled back and each send is retried
alone in its own savepoint; one bad send never sinks the others.

While sends keep coming, the writer stores its batches on one connection it keeps from batch to
batch (:data:`HOLD_IDLE_S`) instead of taking one from the pool for each: a checkout costs a
pre-ping (``pool_pre_ping``: BEGIN, a query, ROLLBACK, three round trips) per batch, and asyncpg
prepares statements per connection, so a writer going round the pool's connections prepared
every statement of a batch again on each of them: the first seconds of a burst (after the
connect phase of 10,000 sockets, the pool's connections new to the writer's statements) were
the slowest of it. See docs/operations.md, "10,000 WebSockets".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError

from backend.changefeed import TOUCHED_SCOPES_KEY
from backend.errors import DomainError
from backend.messaging import service as messaging
from backend.messaging.models import Message

log = logging.getLogger("fieldsync.ws")

#: Sends stored in one transaction at most.
MAX_BATCH = 200
#: How long a writer waits, at most, for more sends once the first of a batch arrived. A batch
#: costs a fixed number of statements whatever its size (:mod:`backend.messaging.sending`), so
#: the CPU per message falls with the batch; the wait is what a send pays for it.
MAX_LINGER_S = 0.02
#: The batch a writer lingers for: it waits only as long as it expects this many sends to take
#: at the rate sends arrive, and not at all when fewer than one more would arrive meanwhile
#: (a quiet process stores each send at once).
TARGET_BATCH = 8
#: Sends waiting at most; beyond, a socket's next send waits (the socket stops being read).
MAX_WAITING = 5000
#: How long the writer keeps its connection with nothing to store; then it goes back to the pool
#: (and is pinged when taken again). A batch that fails gives it back at once; one that finds it
#: lost (the server or a firewall closed it meanwhile) is stored again on another, so the
#: pre-ping it skips costs no send.
HOLD_IDLE_S = 60.0


class Busy(DomainError):
    code = "database_busy"


@dataclass
class _Pending:
    request: messaging.SendRequest
    done: asyncio.Future[Message | DomainError] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    #: When it was queued (loop time): the time it waited for the writer counts as linger.
    at: float = field(default_factory=lambda: asyncio.get_running_loop().time())


class SendWriter:
    """One per process; started and stopped with the hub.

    ``session_factory(**kw)`` makes a session (``bind=`` a connection, when ``connect`` is
    given); ``connect()`` takes a connection from the pool for the writer to keep while it is
    busy. Without ``connect`` every batch has a session of its own from the pool.
    """

    def __init__(
        self,
        session_factory: Callable[..., Any],
        connect: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.connect = connect
        self.conn: Any = None  # the connection kept between batches (an AsyncConnection)
        self.connections_taken = 0
        self.queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self.room = asyncio.Semaphore(MAX_WAITING)
        self.task: asyncio.Task[None] | None = None
        self.batches = 0
        self.stored = 0
        self.rate = 0.0  # sends per second arriving, smoothed

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
        await self._release()
        while not self.queue.empty():
            pending = self.queue.get_nowait()
            if not pending.done.done():
                pending.done.set_result(Busy("the server is shutting down; send again"))

    async def submit(self, request: messaging.SendRequest) -> asyncio.Future[Message | DomainError]:
        """Queue ``request`` (waiting for room first); the future resolves after the commit.

        The queue position is taken when this returns, so sends to a conversation submitted in
        order are stored in order even if their futures are awaited concurrently.
        """
        await self.room.acquire()
        pending = _Pending(request)
        pending.done.add_done_callback(lambda _f: self.room.release())
        self.queue.put_nowait(pending)
        return pending.done

    def linger_s(self) -> float:
        """How long to wait for more sends, from the arrival rate measured so far."""
        if self.rate * MAX_LINGER_S < 1:
            return 0.0
        return min(MAX_LINGER_S, (TARGET_BATCH - 1) / self.rate)

    async def _run(self) -> None:
        queue = self.queue
        loop = asyncio.get_running_loop()
        taken_at = loop.time()
        while True:
            if self.conn is not None and queue.empty():
                try:  # keep the connection for the next sends, not for ever
                    first = await asyncio.wait_for(queue.get(), HOLD_IDLE_S)
                except TimeoutError:
                    await self._release()
                    continue
            else:
                first = await queue.get()
            batch = [first]
            if queue.qsize() < TARGET_BATCH - 1 and (linger := self.linger_s()) > 0:
                # Let the sends arriving meanwhile join this batch, counting the time the first
                # of them already waited for the previous batch's commit: under load the store
                # itself gathers the batch and nothing waits twice.
                wait = linger - (loop.time() - batch[0].at)
                if wait > 0:
                    await asyncio.sleep(wait)
            while len(batch) < MAX_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            now = loop.time()
            # Sends per second, smoothed over the last batches (a burst does not swing it).
            self.rate += 0.2 * (len(batch) / max(now - taken_at, 1e-3) - self.rate)
            taken_at = now
            try:
                results = await self._store(batch)
            except Exception:
                log.exception("storing %d sends failed", len(batch))
                results = [Busy("the message was not stored; send it again") for _ in batch]
            for pending, result in zip(batch, results, strict=True):
                if not pending.done.done():
                    pending.done.set_result(result)

    async def _session(self) -> Any:
        """A session on the writer's connection (taken from the pool if it has none)."""
        if self.connect is None:
            return self.session_factory()
        if self.conn is None:
            self.conn = await self.connect()
            self.connections_taken += 1
        return self.session_factory(bind=self.conn)

    async def _release(self) -> None:
        """Give the kept connection back to the pool (a broken one is discarded there)."""
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                await conn.close()
            except Exception:
                log.debug("closing the writer's connection failed", exc_info=True)

    async def _store_together(self, requests: list[messaging.SendRequest]) -> list[Message | DomainError]:
        async with await self._session() as session, session.begin():
            results = await messaging.send_messages(session, requests)
            _announced_by_events(session)
        self.batches += 1
        self.stored += len(requests)
        return results

    async def _store(self, batch: list[_Pending]) -> list[Message | DomainError]:
        requests = [p.request for p in batch]
        try:
            try:
                return await self._store_together(requests)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                # The kept connection died since the last batch (no pre-ping on it): the whole
                # batch again on one the pool checks. Sends are idempotent by client id.
                log.warning("the writer's connection was lost; storing the batch again", exc_info=True)
                await self._release()
                return await self._store_together(requests)
        except Exception:
            # Whatever failed (a concurrent send's client id, a lost connection), the retry
            # starts on a connection the pool checks.
            await self._release()
            if len(batch) == 1:
                raise
            log.warning("a batch of %d sends failed; storing them one by one", len(batch), exc_info=True)
        out: list[Message | DomainError] = []
        try:
            async with await self._session() as session, session.begin():
                for request in requests:
                    try:
                        async with session.begin_nested():
                            out.append((await messaging.send_messages(session, [request]))[0])
                            _announced_by_events(session)
                    except DomainError as exc:
                        out.append(exc)
                    except Exception:  # its savepoint is rolled back; the others go on
                        log.exception("storing a send failed")
                        out.append(Busy("the message was not stored; send it again"))
        except Exception:
            await self._release()
            raise
        return out


def _announced_by_events(session: Any) -> None:
    """No "pull now" hint for the user scopes a batch touched.

    A batch writes messages, counters and the senders' read markers (membership rows, which
    live in ``conv:<id>`` and ``user:<sender>``): the ``message`` event of the same commit
    announces the conversation, and a sender's read marker is at the seq of their latest
    message. Without this, every send also cost the sender a ``pull`` frame. The rows are in
    the change feed all the same: the next pull delivers them.
    """
    touched = session.sync_session.info.get(TOUCHED_SCOPES_KEY)
    if touched:
        touched.difference_update([s for s in touched if s.startswith("user:")])
