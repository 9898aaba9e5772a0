"""`fieldsync simulate`: the fleet simulator (issue 7) — a day in the field against a server."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    """Register ``simulate`` on the top-level subparsers."""
    cmd = sub.add_parser(
        "simulate",
        help="drive simulated phones against a running server and check they converge",
        description=(
            "Simulated phones (reference sync clients) spend a day in the field against a running "
            "server: orders, counts, inspections with photos, acceptances, chat; dropping out of "
            "signal and coming back. At the end every phone must hold exactly the server's view "
            "and no queued mutation may be lost. Exit status 0 when both hold."
        ),
    )
    cmd.add_argument("--url", default="http://127.0.0.1:8000", help="the server (default %(default)s)")
    cmd.add_argument("--phones", type=int, default=200, help="simulated phones (default %(default)s)")
    cmd.add_argument("--minutes", type=float, default=5.0, help="length of the day (default %(default)s)")
    cmd.add_argument("--seconds", type=float, help="length of the day in seconds (overrides --minutes)")
    cmd.add_argument("--seed", type=int, default=7, help="random seed (default %(default)s)")
    cmd.add_argument("--admin", default="admin", help="administrator username (default %(default)s)")
    cmd.add_argument("--password", default="fieldsync-demo", help="password of the admin and sim users")
    cmd.add_argument("--think", type=float, default=1.0, help="mean seconds between a phone's actions")
    cmd.add_argument("--offline", type=float, default=0.08, help="chance per action of losing signal")
    cmd.add_argument(
        "--lost-replies", type=float, default=0.02, help="chance per push that the reply is lost after commit"
    )
    cmd.add_argument(
        "--spawn",
        action="store_true",
        help="start a server of its own on a fresh SQLite file with the demo network (ignores --url)",
    )
    cmd.add_argument(
        "--database-url",
        help="with --spawn: serve this (empty) database instead of a fresh SQLite file; it is "
        "migrated and seeded first",
    )
    cmd.add_argument("--json", action="store_true", help="print the final report as one JSON line on stdout")
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fieldsync.simulation.phone import Habits
    from fieldsync.simulation.run import SimulationConfig, simulate

    config = SimulationConfig(
        url=args.url,
        phones=args.phones,
        seconds=args.seconds if args.seconds is not None else args.minutes * 60,
        seed=args.seed,
        admin_username=args.admin,
        password=args.password,
        habits=Habits(think_s=args.think, offline_chance=args.offline, lost_reply_chance=args.lost_replies),
    )
    if args.spawn:
        from fieldsync.simulation.local import local_server

        with (
            tempfile.TemporaryDirectory(prefix="fieldsync-sim-") as tmp,
            local_server(Path(tmp), args.database_url, fleet=config.phones) as server,
        ):
            config.url = server.url
            report = asyncio.run(simulate(config))
            if not report.ok or any(e.startswith("HTTP 5") for e in report.tally.errors):
                print("--- the spawned server's log (tail) ---\n" + server.log_tail(), file=sys.stderr)
    else:
        report = asyncio.run(simulate(config))
    print("\n" + report.render(), file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict(), sort_keys=True))
    return 0 if report.ok else 1
