"""Pull: the initial pull of a distributor's scopes (~50,000 rows) and incremental pulls.

Initial pull: a distributor's staff member pulls everything it is entitled to (the demo
network plus products and prices added in bulk to reach ``--rows``), page by page, in JSON
and in MessagePack: rows/s and bytes on the wire. Raw limit: the same change-log rows read
with SQLAlchemy Core in pages of the same size and encoded with msgspec, no HTTP, no rules.

Incremental pull: 100 changes in the caller's scopes after its cursor, with the change log
padded (other organisations' activity) to ``--small`` and then ``--large`` rows; p50/p99 of
repeated pulls from the same cursor, at both sizes, to show the cost does not grow with the
table. Raw limit: the same rows selected by ``(scope, id)`` directly and encoded.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import _harness as h
import httpx
import msgspec
from _seeding import add_priced_products, change_log_rows, demo_handles, pad_change_log
from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.catalog import PriceEntry
from backend.changefeed import ChangeLog, ScopeRow
from backend.db import make_session_factory

PULL = "/sync/v1/pull"
MSGPACK = "application/msgpack"
USERNAME = "dist-north"
CLIENT_ID = "bench-puller"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=50_000, help="rows in the distributor's scopes")
    parser.add_argument("--page", type=int, default=1000, help="rows per pull page")
    parser.add_argument("--small", type=int, default=100_000, help="first change-log size")
    parser.add_argument("--large", type=int, default=1_000_000, help="second change-log size")
    parser.add_argument("--repeats", type=int, default=200, help="incremental pulls per size")


class Puller:
    """Pulls over HTTP as a phone does: follow the cursor until ``has_more`` is false."""

    def __init__(self, http: httpx.AsyncClient, token: str, fmt: str, page: int) -> None:
        self.http = http
        self.fmt = fmt
        self.page = page
        self.headers = {"Authorization": f"Bearer {token}"}
        if fmt == "msgpack":
            self.headers["Accept"] = MSGPACK
        self._decode = msgspec.msgpack.decode if fmt == "msgpack" else msgspec.json.decode

    async def page_from(self, cursor: str | None) -> tuple[dict[str, Any], int]:
        params: dict[str, Any] = {"limit": self.page, "client_id": CLIENT_ID}
        if cursor:
            params["cursor"] = cursor
        response = await self.http.get(PULL, params=params, headers=self.headers)
        if response.status_code != 200:
            raise RuntimeError(f"pull answered {response.status_code}: {response.text[:300]}")
        return self._decode(response.content), response.num_bytes_downloaded

    async def all_from(self, cursor: str | None) -> tuple[str | None, int, int, int]:
        """(final cursor, changes, wire bytes, pages)."""
        rows = wire = pages = 0
        while True:
            body, nbytes = await self.page_from(cursor)
            rows += len(body["changes"])
            wire += nbytes
            pages += 1
            cursor = body["cursor"]
            if not body.get("has_more"):
                return cursor, rows, wire, pages


async def entitled_scopes(target: h.Target, username: str) -> list[str]:
    """The caller's scopes, as the server computes them (for the raw reads)."""
    from backend.identity import Actor, Organisation, User

    try:
        from sync.scopes import entitled_scopes as compute
    except ImportError:  # before the sync engine lands: a distributor's scopes by hand
        compute = None

    engine = target.engine()
    try:
        async with make_session_factory(engine)() as session:
            user = (await session.execute(select(User).where(User.username == username))).scalar_one()
            org = await session.get(Organisation, user.org_id)
            assert org is not None
            actor = Actor(user_id=user.id, org_id=org.id, org_kind=org.kind, role=user.role)
            if compute is not None:
                return sorted(await compute(session, actor))
            suppliers = await session.execute(select(Organisation.id).where(Organisation.kind == "supplier"))
            return sorted(
                {"reference", f"user:{user.id}", f"org:{org.id}"}
                | {f"catalog:{s}" for s in suppliers.scalars()}
            )
    finally:
        await engine.dispose()


def _encoded(rows: list[Any], last: Any, fmt: str) -> int:
    """Bytes of one page encoded as a pull response (the same fields, msgspec)."""
    encode = msgspec.msgpack.encode if fmt == "msgpack" else msgspec.json.encode
    changes = [
        {
            "scope": r.scope,
            "entity": r.entity,
            "id": r.entity_id,
            "op": r.op,
            "version": r.version,
            "data": r.data,
        }
        for r in rows
    ]
    return len(encode({"changes": changes, "cursor": str(last), "has_more": True}))


async def raw_snapshot(conn: AsyncConnection, scopes: list[str], *, page: int, fmt: str) -> tuple[int, int]:
    """What an initial pull reads, straight from the database: each scope's rows (``scope_rows``
    joined to their latest change) in keyset pages of ``page``, each page encoded. (rows, bytes)."""
    rows = nbytes = 0
    for scope in scopes:
        after = ("", "")
        while True:
            result = (
                await conn.execute(
                    select(
                        ScopeRow.scope,
                        ScopeRow.entity,
                        ScopeRow.entity_id,
                        ChangeLog.op,
                        ScopeRow.version,
                        ChangeLog.data,
                    )
                    .join(ChangeLog, ChangeLog.id == ScopeRow.change_id)
                    .where(ScopeRow.scope == scope, tuple_(ScopeRow.entity, ScopeRow.entity_id) > after)
                    .order_by(ScopeRow.entity, ScopeRow.entity_id)
                    .limit(page)
                )
            ).all()
            if not result:
                break
            after = (result[-1].entity, result[-1].entity_id)
            nbytes += _encoded(result, after, fmt)
            rows += len(result)
            if len(result) < page:
                break
    return rows, nbytes


async def raw_delta(
    conn: AsyncConnection, scopes: list[str], *, after: tuple[int, int], page: int, fmt: str
) -> tuple[int, int]:
    """What an incremental pull reads, straight from the database: changes in ``scopes`` after
    ``after`` = (tx, id), in (tx, id) order, pages of ``page``, encoded. (rows, bytes)."""
    cols = (
        ChangeLog.tx,
        ChangeLog.id,
        ChangeLog.scope,
        ChangeLog.entity,
        ChangeLog.entity_id,
        ChangeLog.op,
        ChangeLog.version,
        ChangeLog.data,
    )
    rows = nbytes = 0
    last = after
    while True:
        result = (
            await conn.execute(
                select(*cols)
                .where(ChangeLog.scope.in_(scopes), tuple_(ChangeLog.tx, ChangeLog.id) > last)
                .order_by(ChangeLog.tx, ChangeLog.id)
                .limit(page)
            )
        ).all()
        if not result:
            return rows, nbytes
        last = (result[-1].tx, result[-1].id)
        nbytes += _encoded(result, last, fmt)
        rows += len(result)
        if len(result) < page:
            return rows, nbytes


async def scope_position(conn: AsyncConnection, scopes: list[str]) -> tuple[int, int]:
    """The newest (tx, id) in ``scopes``: where a cursor taken now stands."""
    row = (
        await conn.execute(
            select(ChangeLog.tx, ChangeLog.id)
            .where(ChangeLog.scope.in_(scopes))
            .order_by(ChangeLog.tx.desc(), ChangeLog.id.desc())
            .limit(1)
        )
    ).first()
    return (row.tx, row.id) if row else (-1, -1)


async def change_prices(engine: AsyncEngine, distributor_id: str, n: int) -> None:
    """``n`` price changes for the distributor through the ORM (the change feed hook records them)."""
    async with make_session_factory(engine)() as session:
        prices = (
            await session.execute(
                select(PriceEntry)
                .where(PriceEntry.distributor_id == distributor_id)
                .order_by(func.random())
                .limit(n)
            )
        ).scalars()
        for price in prices:
            price.price_minor += 1
        await session.commit()


async def measure(target: h.Target, args: argparse.Namespace) -> dict[str, Any]:
    """Initial and incremental pull of a distributor's scopes over HTTP, beside raw reads."""
    figures: dict[str, Any] = {}
    figures["seed_demo_s"] = round(await h.seed_demo_network(target), 1)
    engine = target.engine()
    try:
        handles = await demo_handles(engine)
        distributor = handles.users[USERNAME].org_id
        scopes = await entitled_scopes(target, USERNAME)
        async with engine.connect() as conn:
            have = await scope_rows_count(conn, scopes)
        started = time.perf_counter()
        async with make_session_factory(engine)() as session:
            await add_priced_products(
                session,
                distributor_id=distributor,
                suppliers=handles.suppliers,
                count=max(0, args.rows - have) // 2,
            )
            await session.commit()
        figures["seed_bulk_s"] = round(time.perf_counter() - started, 1)
        async with engine.connect() as conn:
            figures["scope_rows"] = await scope_rows_count(conn, scopes)
        noise = [f"org:{d}" for d in handles.distributors if d != distributor] + [
            f"terminal:{t}"
            for d, ts in handles.terminals_by_distributor.items()
            if d != distributor
            for t in ts
        ]
        with h.Server(target) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=300) as http:
                token = await h.login(http, USERNAME, client_id=CLIENT_ID)
                figures["initial"] = await initial_pull(engine, http, server, token, scopes, args.page)
                figures["incremental"] = {}
                cursor: str | None = None
                for size in (args.small, args.large):
                    h.log(f"padding the change log to {size:,} rows")
                    pad_s = await pad_change_log(engine, upto=size, scopes=noise)
                    cursor, inc = await incremental_pull(
                        engine, http, server, token, scopes, distributor, cursor, args.page, args.repeats
                    )
                    inc["change_log_rows"] = await change_log_rows(engine)
                    inc["pad_s"] = round(pad_s, 1)
                    figures["incremental"][str(size)] = inc
                figures["server_peak_rss_mib"] = round(server.peak_rss_mib(), 1)
        sizes = list(figures["incremental"].values())
        figures["incremental_p99_growth"] = h.ratio(sizes[-1]["http"]["p99_ms"], sizes[0]["http"]["p99_ms"])
    finally:
        await engine.dispose()
    return figures


async def scope_rows_count(conn: AsyncConnection, scopes: list[str]) -> int:
    """Rows the scopes hold now (what an initial pull delivers)."""
    query = select(func.count()).select_from(ScopeRow).where(ScopeRow.scope.in_(scopes))
    return int((await conn.execute(query)).scalar_one())


async def initial_pull(
    engine: AsyncEngine, http: httpx.AsyncClient, server: h.Server, token: str, scopes: list[str], page: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fmt in ("json", "msgpack"):
        h.log(f"initial pull, {fmt}")
        async with engine.connect() as conn:
            started = time.perf_counter()
            raw_rows, raw_bytes = await raw_snapshot(conn, scopes, page=page, fmt=fmt)
            raw_s = time.perf_counter() - started
        started, cpu = time.perf_counter(), server.cpu_seconds()
        _cursor, rows, wire, pages = await Puller(http, token, fmt, page).all_from(None)
        http_s = time.perf_counter() - started
        cpu = server.cpu_seconds() - cpu
        rows_per_s = rows / http_s
        raw_rows_per_s = raw_rows / raw_s
        out[fmt] = {
            "rows": rows,
            "pages": pages,
            "seconds": round(http_s, 3),
            "rows_per_s": round(rows_per_s),
            "wire_bytes": wire,
            "raw_rows": raw_rows,
            "raw_seconds": round(raw_s, 3),
            "raw_rows_per_s": round(raw_rows_per_s),
            "raw_bytes": raw_bytes,
            "ratio_to_raw": h.ratio(rows_per_s, raw_rows_per_s),
            "server_cpu_ms_per_1000": round(cpu / rows * 1e6, 1) if rows else 0.0,
        }
    return out


async def incremental_pull(
    engine: AsyncEngine,
    http: httpx.AsyncClient,
    server: h.Server,
    token: str,
    scopes: list[str],
    distributor: str,
    cursor: str | None,
    page: int,
    repeats: int,
) -> tuple[str | None, dict[str, Any]]:
    """Catch up, make 100 changes, then pull them ``repeats`` times from the same cursor."""
    puller = Puller(http, token, "msgpack", page)
    cursor, *_ = await puller.all_from(cursor)
    async with engine.connect() as conn:
        position = await scope_position(conn, scopes)
    await change_prices(engine, distributor, 100)
    samples: list[float] = []
    changes = 0
    cpu = server.cpu_seconds()
    for _ in range(repeats):
        started = time.perf_counter()
        body, _wire = await puller.page_from(cursor)
        samples.append(time.perf_counter() - started)
        changes = len(body["changes"])
    cpu = server.cpu_seconds() - cpu
    raw_samples: list[float] = []
    async with engine.connect() as conn:
        for _ in range(repeats):
            started = time.perf_counter()
            raw_rows, _bytes = await raw_delta(conn, scopes, after=position, page=page, fmt="msgpack")
            raw_samples.append(time.perf_counter() - started)
    http_lat = h.latency_ms(samples)
    raw_lat = h.latency_ms(raw_samples)
    return cursor, {
        "changes_per_pull": changes,
        "raw_changes": raw_rows,
        "http": http_lat,
        "raw": raw_lat,
        "p50_ratio_to_raw": h.ratio(raw_lat["p50_ms"], http_lat["p50_ms"]),
        "server_cpu_ms_per_pull": round(cpu / repeats * 1e3, 2),
    }


def summarise(backend: str, f: dict[str, Any]) -> str:
    mp, js = f["initial"]["msgpack"], f["initial"]["json"]
    parts = [
        f"initial {mp['rows']:,} rows: msgpack {mp['rows_per_s']:,} rows/s ({mp['ratio_to_raw']:.0%} of raw "
        f"{mp['raw_rows_per_s']:,}), {mp['wire_bytes'] / 1e6:.1f} MB; json {js['rows_per_s']:,} rows/s "
        f"({js['ratio_to_raw']:.0%}), {js['wire_bytes'] / 1e6:.1f} MB; server CPU ms/1,000 rows "
        f"msgpack {mp['server_cpu_ms_per_1000']} json {js['server_cpu_ms_per_1000']}",
    ]
    for size, inc in f["incremental"].items():
        parts.append(
            f"incremental {inc['changes_per_pull']} changes at {int(size):,} log rows: "
            f"p50 {inc['http']['p50_ms']} ms p99 {inc['http']['p99_ms']} ms "
            f"(raw p50 {inc['raw']['p50_ms']} ms), server CPU {inc['server_cpu_ms_per_pull']} ms/pull"
        )
    parts.append(f"server peak RSS {f['server_peak_rss_mib']} MiB")
    return "\n    ".join(parts)


BENCH = h.Bench("pull", measure, summarise, add_arguments)

if __name__ == "__main__":
    raise SystemExit(h.run(BENCH))
