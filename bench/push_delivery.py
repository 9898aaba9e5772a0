"""Push delivery rate: the outbox worker sending through the real firebase-admin SDK to the local
fake FCM endpoint (tests/fakes/fake_fcm.py).

Seeds ``--users`` users with one device token each, writes ``--pushes`` outbox rows, then runs
the delivery job (claim → ``send_each`` batches of 500 → settle) until the outbox is empty.
The raw limit measured in the same run is the gateway alone sending the same number of
messages (no database). Also reports the process's peak RSS.

Prints one JSON line. ``python bench/push_delivery.py [--pushes 5000] [--users 500]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def serve_fake_fcm(sa_path: Path, urls: Any) -> None:
    """Child process: a fake FCM that trusts a fresh service account written to ``sa_path``."""
    import shutil

    from tests.fakes.fake_fcm import FakeFcm

    fake = FakeFcm().start()
    shutil.copy(fake.service_account(sa_path.parent), sa_path)
    urls.put(fake.base_url)
    while True:
        time.sleep(3600)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=5000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from backend.db import make_engine, make_session_factory
    from backend.demo import seed_demo
    from backend.identity import Device, Organisation, User
    from backend.migrate import upgrade
    from backend.notifications import PushOutbox
    from backend.notifications.delivery import deliver_once
    from backend.notifications.gateway import FcmGateway, PushMessage

    tmp = Path(tempfile.mkdtemp(prefix="fs-push-"))
    url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    async with factory() as s, s.begin():
        await seed_demo(s, terminals=12, skus=40, activity=False)
    async with factory() as s, s.begin():
        org = (await s.execute(select(Organisation).where(Organisation.code == "dist-00"))).scalar_one()
        users = [
            User(
                org_id=org.id, username=f"p-{i}", display_name=f"P {i}", role="field_staff", password_hash="x"
            )
            for i in range(args.users)
        ]
        s.add_all(users)
        await s.flush()
        s.add_all(
            Device(user_id=u.id, client_id="bench", platform="android", push_token=f"token-{i}")
            for i, u in enumerate(users)
        )
        s.add_all(
            PushOutbox(
                user_id=users[n % len(users)].id, kind="alert", title="Order shipped", body=f"#{n}", data={}
            )
            for n in range(args.pushes)
        )

    # The fake FCM runs in its own process, as Google's endpoint would: it must not share our GIL.
    ctx = multiprocessing.get_context("spawn")
    sa_path, urls = tmp / "sa.json", ctx.Queue()
    fake = ctx.Process(target=serve_fake_fcm, args=(sa_path, urls), daemon=True)
    fake.start()
    base_url = urls.get(timeout=60)
    with FcmGateway(str(sa_path), fcm_endpoint=base_url) as gateway:
        start = time.perf_counter()
        rounds = sent = 0
        while True:
            report = await deliver_once(factory, gateway, worker_id="bench")
            if not report.claimed:
                break
            rounds += 1
            sent += report.sent
        elapsed = time.perf_counter() - start

        raw = [
            PushMessage(token=f"token-{n % args.users}", kind="alert", title="raw", body=str(n))
            for n in range(args.pushes)
        ]
        raw_start = time.perf_counter()
        for i in range(0, len(raw), 500):
            await asyncio.to_thread(gateway.send_batch, raw[i : i + 500])
        raw_elapsed = time.perf_counter() - raw_start

    fake.terminate()
    async with factory() as s:
        left = await s.scalar(select(func.count()).select_from(PushOutbox).where(PushOutbox.status != "sent"))
    await engine.dispose()
    print(
        json.dumps(
            {
                "bench": "push_delivery",
                "database": url.split(":", 1)[0],
                "pushes": args.pushes,
                "sent": sent,
                "not_sent": left,
                "rounds": rounds,
                "seconds": round(elapsed, 2),
                "notifications_per_s": round(sent / elapsed, 1),
                "raw_gateway_per_s": round(args.pushes / raw_elapsed, 1),
                "ratio_to_raw": round((sent / elapsed) / (args.pushes / raw_elapsed), 3),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
