"""A first sync figure: push mutations/s and pull rows/s on the demo network, each beside the
raw database doing the same writes/reads in the same run. Prints exactly one JSON line.

    python bench/sync_first.py [--db all|sqlite|postgresql] [--terminals 300 --skus 1000 --batches 10]

In-process (Litestar test client, no network hop): the full suite (``bench/push.py``,
``bench/pull.py``) measures against a real server process.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import Bench, Target, ratio, run  # noqa: E402
from litestar.testing import AsyncTestClient  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from backend.changefeed import ChangeLog, ScopeRow  # noqa: E402
from backend.config import load_settings  # noqa: E402
from backend.db import make_engine, make_session_factory  # noqa: E402
from backend.demo import DEMO_PASSWORD, seed_demo  # noqa: E402
from backend.identity import Actor, User  # noqa: E402
from backend.identity.service import load_actor  # noqa: E402
from fieldsync.wiring import build_app  # noqa: E402
from sync.client import ReferenceClient  # noqa: E402
from sync.scopes import entitled_scopes  # noqa: E402

BATCH = 100


async def measure(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    """One phone's first push and pull, in process, beside the raw database in the same run."""
    url, var_dir, batches = target.url, str(target.workdir), args.batches
    engine = make_engine(url)
    factory = make_session_factory(engine)
    async with factory() as session:
        await seed_demo(session, terminals=args.terminals, skus=args.skus, activity=False)
        await session.commit()
    settings = load_settings(
        {},
        env="test",
        database_url=url,
        var_dir=var_dir,
        run_worker_in_process=False,
        requests_per_minute=10**7,
        sync_mutations_per_minute=0,
        secret_key="bench-" + "k" * 40,
    )
    figures: dict[str, Any] = {}
    async with AsyncTestClient(app=build_app(settings)) as http:
        login = await http.post(
            "/auth/login",
            json={
                "username": "dist-north",
                "password": DEMO_PASSWORD,
                "client_id": "bench",
                "platform": "android",
            },
        )
        phone = ReferenceClient(
            http,
            client_id="bench",
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            media_type="application/msgpack",
        )
        for n in range(batches * BATCH):
            phone.mutate("profile.update", {"display_name": f"Bench {n}"})
        started = time.perf_counter()
        await phone.push_all(batch=BATCH)
        push_s = time.perf_counter() - started
        started = time.perf_counter()
        stats = await phone.pull(limit=1000)
        pull_s = time.perf_counter() - started
    figures["push_mutations_per_s"] = round(batches * BATCH / push_s, 1)
    figures["pull_rows_per_s"] = round(stats.changes / pull_s, 1)
    figures["pull_rows"] = stats.changes

    # The raw database, same run: the same row updates in transactions of BATCH, and the same
    # rows read straight from the snapshot tables.
    async with factory() as session:
        user_id = (await session.execute(select(User.id).where(User.username == "dist-north"))).scalar_one()
        actor: Actor = await load_actor(session, user_id, None)
        scopes = sorted(await entitled_scopes(session, actor))
    started = time.perf_counter()
    for b in range(batches):
        async with factory() as session:
            for n in range(BATCH):
                await session.execute(
                    update(User).where(User.id == user_id).values(display_name=f"Raw {b}-{n}")
                )
            await session.commit()
    raw_write_s = time.perf_counter() - started
    started = time.perf_counter()
    async with factory() as session:
        rows = (
            await session.execute(
                select(ScopeRow.scope, ScopeRow.entity, ScopeRow.entity_id, ScopeRow.version, ChangeLog.data)
                .join(ChangeLog, ChangeLog.id == ScopeRow.change_id)
                .where(ScopeRow.scope.in_(scopes))
            )
        ).all()
    raw_read_s = time.perf_counter() - started
    figures["raw_row_updates_per_s"] = round(batches * BATCH / raw_write_s, 1)
    figures["raw_rows_read_per_s"] = round(len(rows) / raw_read_s, 1)
    figures["push_ratio_to_raw"] = ratio(figures["push_mutations_per_s"], figures["raw_row_updates_per_s"])
    figures["pull_ratio_to_raw"] = ratio(figures["pull_rows_per_s"], figures["raw_rows_read_per_s"])
    await engine.dispose()
    return figures


def summarise(_backend: str, r: dict[str, Any]) -> str:
    push, raw_push = r["push_mutations_per_s"], r["raw_row_updates_per_s"]
    pull, raw_pull = r["pull_rows_per_s"], r["raw_rows_read_per_s"]
    return (
        f"push {push:,}/s ({r['push_ratio_to_raw']:.1%} of raw {raw_push:,}/s), "
        f"pull {pull:,} rows/s ({r['pull_ratio_to_raw']:.1%} of raw {raw_pull:,}/s)"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--terminals", type=int, default=300)
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=10, help=f"push batches of {BATCH} mutations")


if __name__ == "__main__":
    sys.exit(run(Bench("sync_first", measure, summarise, add_arguments)))
