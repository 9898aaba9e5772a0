"""A day in the field against a running server, then the checks that say whether it went right.

1. Enrol the fleet (users, devices, routes, a visit checklist) through the admin API.
2. Every phone acts on its habits — queue mutations, take photos, drop out of signal (also
   half-way through a photo's chunk), come back, upload (resuming), push, pull — until the time
   is up; phones start staggered over the first tenth of the run.
3. End of day: every phone comes back online, pushes what is left and pulls until caught up,
   twice (so each sees what the others pushed last).
4. Checks: no queued mutation lost (each has a result or waits in the outbox — which must be
   empty), and every phone's replica equals the server's view of its user's scopes, taken by
   a fresh pull from an empty replica (inspections and their answers, which name the photos,
   included); every photo a phone attached is served back by the server with the phone's bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from fieldsync.simulation.behaviours import Playbook
from fieldsync.simulation.fleet import DEMO_PASSWORD, AdminApi, enrol, login, plan
from fieldsync.simulation.phone import Habits, Phone
from fieldsync.simulation.report import Convergence, PhotoCheck, Report, Tally
from sync.client import ReferenceClient, SyncHttpError
from sync.protocol import MSGPACK


@dataclass
class SimulationConfig:
    url: str = "http://127.0.0.1:8000"
    phones: int = 200
    seconds: float = 300.0
    seed: int = 7
    admin_username: str = "admin"
    password: str = DEMO_PASSWORD
    habits: Habits = field(default_factory=Habits)
    progress_every_s: float = 2.0
    prefix: str = "sim"
    weights: dict[str, int] = field(default_factory=dict)  # behaviour name -> weight override


Progress = Callable[[str], None]


def _stderr_progress(line: str) -> None:
    end = "\r" if sys.stderr.isatty() else "\n"
    print(line, end=end, file=sys.stderr, flush=True)


async def available_mutations(http: httpx.AsyncClient, token: str) -> set[str]:
    response = await http.get("/sync/v1/schema", headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 200:
        return set()
    body = response.json()
    return set(body.get("mutations", {}))


async def simulate(
    config: SimulationConfig,
    progress: Progress | None = _stderr_progress,
    *,
    settle: Callable[[], Awaitable[object]] | None = None,
) -> Report:
    """One fleet's day against ``config.url``, then its report. Fleets sharing one network in one
    run pass ``settle`` (e.g. an ``asyncio.Barrier``'s ``wait``): awaited once this fleet's day is
    pushed, so every fleet has finished writing before each one catches up and compares."""
    rng = random.Random(config.seed)
    tally = Tally()
    limits = httpx.Limits(max_connections=min(200, max(10, config.phones)), max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=config.url, timeout=120.0, limits=limits) as http:
        status, body = await login(http, config.admin_username, config.password, f"{config.prefix}-admin")
        if status != 200:
            raise RuntimeError(f"cannot sign in as {config.admin_username}: HTTP {status} {body}")
        admin = AdminApi(http, body["access_token"])
        playbook = Playbook(await available_mutations(http, body["access_token"]), config.weights)
        if progress:
            progress(f"behaviours the server supports: {', '.join(playbook.names()) or 'none'}\n")
        net = await admin.organisations()
        specs = plan(config.phones, net, prefix=config.prefix)
        if progress:
            progress(f"enrolling {len(specs)} phones…\n")
        await enrol(http, admin, specs, net, rng, password=config.password)
        phones = [
            Phone(s, http, tally, config.habits, random.Random(rng.random()), password=config.password)
            for s in specs
        ]
        tally.phones = tally.online = len(phones)
        tally.started = time.monotonic()
        until = tally.started + config.seconds
        ramp = config.seconds / 10

        async def show() -> None:
            while True:
                await asyncio.sleep(config.progress_every_s)
                if progress:
                    progress(tally.progress_line())

        shower = asyncio.create_task(show())
        try:
            await asyncio.gather(
                *(
                    p.run(until, playbook.act, start_delay=ramp * i / len(phones))
                    for i, p in enumerate(phones)
                )
            )
            if progress:
                progress(f"\nend of day: {len(phones)} phones push what is left and catch up…\n")
            for _round in range(2):
                await asyncio.gather(*(p.end_of_day() for p in phones))
            if settle is not None:
                await settle()
                await asyncio.gather(*(p.end_of_day() for p in phones))
        finally:
            shower.cancel()
        seconds = time.monotonic() - tally.started
        convergence = await check_convergence(http, phones)
        photo_check = await check_photos(http, phones)
        lost = [i for p in phones for i in p.lost_mutations()]
        report = Report(
            tally=tally,
            convergence=convergence,
            seconds=seconds,
            queued_ids=sum(len(p.queued_ids) for p in phones),
            acknowledged_ids=sum(len(p.queued_ids & set(p.client.results())) for p in phones),
            lost=lost,
            outbox_left=sum(len(p.client.outbox()) for p in phones),
            photo_check=photo_check,
            acknowledged={
                (p.spec.username, p.spec.client_id): {i: r["status"] for i, r in p.client.results().items()}
                for p in phones
            },
        )
        for p in phones:
            p.client.close()
        return report


def _diff(phone_rows: dict[Any, Any], server_rows: dict[Any, Any], limit: int = 3) -> list[str]:
    out: list[str] = []
    for key in sorted(set(phone_rows) | set(server_rows)):
        mine, theirs = phone_rows.get(key), server_rows.get(key)
        if mine == theirs:
            continue
        if mine is None:
            out.append(f"missing {key} (server v{theirs[0]})")
        elif theirs is None:
            out.append(f"extra {key} (phone v{mine[0]})")
        else:
            out.append(f"differs {key}: phone v{mine[0]}, server v{theirs[0]}")
        if len(out) >= limit:
            break
    return out


async def check_convergence(
    http: httpx.AsyncClient, phones: list[Phone], concurrency: int = 8
) -> Convergence:
    """Each phone's replica against a fresh pull of its user's view (one per user)."""
    result = Convergence()
    by_user: dict[str, list[Phone]] = {}
    for phone in phones:
        by_user.setdefault(phone.spec.username, []).append(phone)
    gate = asyncio.Semaphore(concurrency)

    async def one(username: str, group: list[Phone]) -> None:
        async with gate:
            first = group[0]
            for attempt in range(2):  # a long day outlives access tokens: sign in again once
                fresh = ReferenceClient(
                    http,
                    client_id=f"{first.spec.client_id}-verify",
                    headers=dict(first.client.headers),
                    media_type=MSGPACK,
                )
                try:
                    await fresh.pull(limit=1000)
                    server_rows = fresh.rows()
                    break
                except SyncHttpError as exc:
                    if exc.status != 401 or attempt:
                        raise
                    await first.sign_in_again()
                finally:
                    fresh.close()
            result.users_checked += 1
            for phone in group:
                result.phones_checked += 1
                mine = phone.client.rows()
                result.rows_compared += len(server_rows)
                problems = _diff(mine, server_rows)
                if problems:
                    result.differences.extend(f"{phone.spec.client_id} ({username}): {d}" for d in problems)
                else:
                    result.phones_converged += 1

    await asyncio.gather(*(one(u, g) for u, g in by_user.items()))
    return result


async def check_photos(http: httpx.AsyncClient, phones: list[Phone], concurrency: int = 8) -> PhotoCheck:
    """Each photo a phone attached, fetched back as that phone's user: its metadata answers and its
    original hashes to the photo's SHA-256, which is the SHA-256 of the bytes the phone took."""
    check = PhotoCheck()
    gate = asyncio.Semaphore(concurrency)

    async def one(phone: Phone, sha256: str) -> None:
        async with gate:
            for _attempt in range(2):  # a long day outlives access tokens: sign in again once
                headers = dict(phone.client.headers)
                meta = await http.get(f"/media/photos/{sha256}", headers=headers)
                original = await http.get(f"/media/photos/{sha256}/original", headers=headers)
                if 401 not in (meta.status_code, original.status_code):
                    break
                await phone.sign_in_again()
        taken = hashlib.sha256(phone.client.photo(sha256)).hexdigest()
        served = hashlib.sha256(original.content).hexdigest()
        problem = None
        if meta.status_code != 200 or original.status_code != 200:
            problem = f"HTTP {meta.status_code} (metadata), {original.status_code} (original)"
        elif not (taken == sha256 == served):
            problem = f"served bytes hash to {served}, the phone's to {taken}"
        elif meta.json().get("byte_size") != len(original.content):
            problem = (
                f"metadata says {meta.json().get('byte_size')} bytes, the original {len(original.content)}"
            )
        if problem:
            check.differences.append(f"{phone.spec.client_id} photo {sha256[:12]}…: {problem}")
        else:
            check.verified += 1
            check.verified_hashes.add(sha256)

    jobs = []
    for phone in phones:
        results = phone.client.results()
        attached = {
            sha for mid, sha in phone.attachments.items() if results.get(mid, {}).get("status") == "applied"
        }
        jobs += [one(phone, sha) for sha in sorted(attached)]
    check.attached = len(jobs)
    await asyncio.gather(*jobs)
    return check
