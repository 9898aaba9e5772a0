"""Push delivery: the outbox job sending through the real firebase-admin SDK to a local fake FCM.

Seeds ``--users`` users with one device token each and ``--pushes`` outbox rows, then drains the
outbox with the worker's own job code (``deliver_rounds``: claim → ``send_each`` chunks of 500 →
settle, ``--in-flight`` rounds at once). The fake FCM (tests/fakes/fake_fcm.py) runs in its own
process, as Google's endpoint would. Raw limits measured in the same run:
- ``gateway``: the same number of messages through ``FcmGateway.send_batch`` alone (no database);
- ``endpoint``: the fake FCM alone, driven by a trivial keep-alive HTTP/1.1 client (asyncio
  streams, ``--conns`` connections), i.e. what the endpoint can take without the SDK.
CPU per 1000 notifications of this process (SDK + job) and of the fake are reported: on a shared
machine they are steadier than the rates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
from typing import Any

import _harness as h
from _seeding import users_with_devices
from sqlalchemy import func, select

from backend.db import make_session_factory
from backend.notifications import PushOutbox
from backend.notifications.delivery import deliver_rounds
from backend.notifications.gateway import FCM_MAX_BATCH, FcmGateway, PushMessage
from tests.fakes.fake_fcm import FakeFcmProcess


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pushes", type=int, default=5000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--in-flight", type=int, default=2, help="delivery rounds in flight at once")
    parser.add_argument("--conns", type=int, default=50, help="connections of the trivial endpoint client")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _seed(target: h.Target, users: int, pushes: int) -> None:
    await h.seed_demo_network(target, terminals=12, skus=40)
    engine = target.engine()
    try:
        async with make_session_factory(engine)() as s, s.begin():
            people = [u for u, _ in await users_with_devices(s, users, "p", push_tokens=True)]
            s.add_all(
                PushOutbox(
                    user_id=people[n % users].id, kind="alert", title="Order shipped", body=f"#{n}", data={}
                )
                for n in range(pushes)
            )
    finally:
        await engine.dispose()


async def _endpoint_alone(fake: FakeFcmProcess, access_token: str, n: int, conns: int) -> float:
    """Requests/s the fake answers to a trivial keep-alive client (same JSON as the SDK sends)."""
    host, port = fake.base_url.removeprefix("http://").split(":")
    project = json.loads(fake.service_account.read_text())["project_id"]
    body = json.dumps({"message": {"token": "token-p-0", "data": {"kind": "alert"}}}).encode()
    request = (
        f"POST /v1/projects/{project}/messages:send HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {access_token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    per_conn = max(1, n // conns)

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        for _ in range(per_conn):
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"fake FCM answered {head[:40]!r}")
            length = next(
                int(v)
                for k, _, v in (line.partition(b":") for line in head.split(b"\r\n"))
                if k.lower() == b"content-length"
            )
            await reader.readexactly(length)
        writer.close()

    watch = h.Stopwatch()
    await asyncio.gather(*(client() for _ in range(conns)))
    return per_conn * conns / watch.elapsed


async def measure(target: h.Target, args: argparse.Namespace) -> dict[str, Any]:
    """Push delivery through firebase-admin to a local fake FCM, with the raw limits of the same run."""
    await _seed(target, args.users, args.pushes)
    engine = target.engine()
    factory = make_session_factory(engine)
    figures: dict[str, Any] = {"pushes": args.pushes, "in_flight": args.in_flight}
    try:
        with (
            FakeFcmProcess(target.workdir / "fcm") as fake,
            FcmGateway(str(fake.service_account), fcm_endpoint=fake.base_url) as gateway,
        ):
            gateway.send_batch([PushMessage(token="token-p-0", kind="sync")])  # OAuth token, connections

            cpu, fake_cpu, watch = _cpu_s(), fake.cpu_seconds(), h.Stopwatch()
            report = await deliver_rounds(
                factory, gateway, worker_id="bench", max_rounds=10**6, in_flight=args.in_flight
            )
            elapsed = watch.elapsed
            figures["delivery"] = {
                "sent": report.sent,
                "per_s": round(report.sent / elapsed, 1),
                "worker_cpu_ms_per_1000": round((_cpu_s() - cpu) * 1e6 / max(1, report.messages), 1),
                "fake_cpu_ms_per_1000": round(
                    (fake.cpu_seconds() - fake_cpu) * 1e6 / max(1, report.messages), 1
                ),
            }

            raw = [
                PushMessage(token=f"token-p-{n % args.users}", kind="alert", title="raw", body=str(n))
                for n in range(args.pushes)
            ]
            cpu, fake_cpu, watch = _cpu_s(), fake.cpu_seconds(), h.Stopwatch()
            for i in range(0, len(raw), FCM_MAX_BATCH):
                await asyncio.to_thread(gateway.send_batch, raw[i : i + FCM_MAX_BATCH])
            elapsed = watch.elapsed
            figures["gateway"] = {
                "per_s": round(len(raw) / elapsed, 1),
                "sdk_cpu_ms_per_1000": round((_cpu_s() - cpu) * 1e6 / len(raw), 1),
                "fake_cpu_ms_per_1000": round((fake.cpu_seconds() - fake_cpu) * 1e6 / len(raw), 1),
            }
            token = str(gateway._credential.token)  # noqa: SLF001 - the token the SDK already fetched
            fake_cpu = fake.cpu_seconds()
            endpoint = await _endpoint_alone(fake, token, args.pushes, args.conns)
            figures["endpoint"] = {
                "per_s": round(endpoint, 1),
                "fake_cpu_ms_per_1000": round((fake.cpu_seconds() - fake_cpu) * 1e6 / args.pushes, 1),
            }
        async with factory() as s:
            figures["not_sent"] = await s.scalar(
                select(func.count()).select_from(PushOutbox).where(PushOutbox.status != "sent")
            )
    finally:
        await engine.dispose()
    figures["delivery_ratio_to_gateway"] = h.ratio(figures["delivery"]["per_s"], figures["gateway"]["per_s"])
    figures["gateway_ratio_to_endpoint"] = h.ratio(figures["gateway"]["per_s"], figures["endpoint"]["per_s"])
    return figures


def summarise(backend: str, f: dict[str, Any]) -> str:
    d, g, e = f["delivery"], f["gateway"], f["endpoint"]
    return (
        f"{d['sent']} of {f['pushes']} delivered at {d['per_s']}/s ({f['in_flight']} rounds in flight; "
        f"{d['worker_cpu_ms_per_1000']} ms worker CPU per 1000), {f['not_sent']} left; gateway alone "
        f"{g['per_s']}/s ({g['sdk_cpu_ms_per_1000']} ms SDK CPU per 1000; delivery = "
        f"{f['delivery_ratio_to_gateway']:.0%} of it); fake FCM alone {e['per_s']}/s "
        f"({e['fake_cpu_ms_per_1000']} ms CPU per 1000; gateway = {f['gateway_ratio_to_endpoint']:.0%} of it)"
    )


BENCH = h.Bench("push_delivery", measure, summarise, add_arguments)

if __name__ == "__main__":
    raise SystemExit(h.run(BENCH))
