"""The ``fieldsync`` command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import signal
import socket
import sys
import time
from collections.abc import Sequence

from backend.config import ConfigError, Settings, describe, load_settings, unknown_variables
from backend.identity.models import ORG_KINDS, ROLES
from fieldsync import cmd_evidence, cmd_forecast, cmd_simulate

EPILOG = (
    "Settings come from environment variables (README.md describes each):\n"
    + "\n".join(f"  {name:<38} default {default}" for name, default, _ in describe())
    + "\n\nNew here? `fieldsync serve --seed-demo` (what `make run` does) serves a demo network."
)


class CliError(Exception):
    """A failure to report as one clear line (no traceback), with the exit status to use."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise CliError(f"configuration error: {exc}", status=2) from None
    for name in unknown_variables():
        print(f"fieldsync: warning: {name} is not a setting; misspelt? (fieldsync --help)", file=sys.stderr)
    return settings


def _progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _migrate(settings: Settings) -> None:
    """Bring the database to the newest revision, or say plainly why it cannot be reached."""
    from backend.migrate import upgrade

    url = settings.resolved_database_url
    try:
        upgrade(url)
    except (OSError, ConnectionError) as exc:
        raise CliError(
            f"cannot reach the database {_redact(url)}: {exc}. Is it running? Check FIELDSYNC_DATABASE_URL."
        ) from None
    except Exception as exc:  # asyncpg and SQLAlchemy errors have no common base worth naming
        raise CliError(
            f"cannot migrate the database {_redact(url)}: {type(exc).__name__}: {exc}. "
            "Check FIELDSYNC_DATABASE_URL and that the database exists."
        ) from None


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    print(f"Applying migrations to {_redact(settings.resolved_database_url)}", file=sys.stderr)
    _migrate(settings)
    print("Database is at the newest revision.", file=sys.stderr)
    return 0


async def _seed(settings: Settings) -> bool:
    """Seed the demo network unless it is there already; print the logins."""
    from backend.db import make_engine, make_session_factory
    from backend.demo import DEMO_PASSWORD, is_seeded, seed_demo

    engine = make_engine(settings.resolved_database_url)
    try:
        async with make_session_factory(engine)() as session:
            if await is_seeded(session):
                print(
                    f"The demo network is already there (sign in as admin / {DEMO_PASSWORD}; "
                    "README.md lists every demo login).",
                    file=sys.stderr,
                )
                return False
            started = time.perf_counter()
            print("Seeding the demo network (first start only):", file=sys.stderr)
            logins = await seed_demo(session, progress=_progress)
            _progress("saving")
            await session.commit()
        print(
            f"Demo network ready in {time.perf_counter() - started:.1f}s. Demo logins (password "
            f"'{DEMO_PASSWORD}'):",
            file=sys.stderr,
        )
        for login in logins:
            print(f"  {login.username:<18} {login.role:<18} {login.organisation}", file=sys.stderr)
        return True
    finally:
        await engine.dispose()


def cmd_demo_seed(args: argparse.Namespace) -> int:
    settings = _settings()
    _migrate(settings)
    asyncio.run(_seed(settings))
    return 0


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CliError(
                f"cannot listen on {host}:{port} ({exc.strerror}). Is another fieldsync running? "
                "Stop it, or choose another port with --port or FIELDSYNC_PORT."
            ) from None


def _app_banner(host: str, port: int) -> str:
    """The start-up line for the mobile workbench: its address, or how to build it."""
    from mobile_api.workbench_app.routes import DIST

    url = f"http://{host}:{port}/app/"
    if (DIST / "index.html").is_file():
        return f"Mobile workbench (phone app): {url}"
    return f"Mobile workbench: {url} is not built yet (cd clients/workbench && npm ci && npm run build)"


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    import uvicorn

    settings = _settings()
    host = args.host or settings.host
    port = args.port or settings.port
    _check_port_free(host, port)
    if not args.no_migrate:
        print(f"Applying migrations to {_redact(settings.resolved_database_url)}", file=sys.stderr)
        _migrate(settings)
    if args.seed_demo:
        asyncio.run(_seed(settings))
    if args.no_worker:
        os.environ["FIELDSYNC_RUN_WORKER_IN_PROCESS"] = "false"
    worker = "off" if args.no_worker or not settings.run_worker_in_process else "in-process"
    print(
        f"fieldsync serving on http://{host}:{port}  (API docs: http://{host}:{port}/schema, "
        f"support console: http://{host}:{port}/console, worker {worker}); Ctrl-C stops it.",
        file=sys.stderr,
    )
    print(_app_banner(host, port), file=sys.stderr)
    uvicorn.run(
        "fieldsync.wiring:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=args.processes,
        log_level="warning",
        access_log=False,  # fieldsync.http logs every request, with its request id
        proxy_headers=True,
        timeout_graceful_shutdown=max(1, round(settings.drain_timeout_s)),  # mobile_api/drain.py
        ws="auto",  # the websockets library (sans-I/O) where installed
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from fieldsync.logs import configure_logging

    settings = _settings()
    configure_logging(settings)
    asyncio.run(_run_worker(settings))
    return 0


async def _run_worker(settings: Settings) -> None:
    from backend.db import make_engine, make_session_factory
    from workers.scheduler import build_scheduler, wait_for_running

    engine = make_engine(settings.resolved_database_url)
    scheduler = build_scheduler(settings, make_session_factory(engine))
    scheduler.start()
    print(f"fieldsync worker running {len(scheduler.get_jobs())} jobs; Ctrl-C stops it.", file=sys.stderr)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        # SIGTERM: start nothing new, let the runs in progress finish (bounded), give leases back
        scheduler.shutdown(wait=False)
        left = await wait_for_running(settings.drain_timeout_s)
        if left:
            print(f"fieldsync worker: {left} job run(s) cut short; their leases lapse", file=sys.stderr)
        await engine.dispose()


def cmd_user_create(args: argparse.Namespace) -> int:
    settings = _settings()
    _migrate(settings)
    password = args.password or getpass.getpass("Password for the new user: ")
    return asyncio.run(_user_create(settings, args, password))


async def _user_create(settings: Settings, args: argparse.Namespace, password: str) -> int:
    from sqlalchemy import select

    from backend.db import make_engine, make_session_factory
    from backend.errors import DomainError
    from backend.identity import Organisation
    from backend.identity import service as identity

    engine = make_engine(settings.resolved_database_url)
    try:
        async with make_session_factory(engine)() as session:
            org = (
                await session.execute(
                    select(Organisation).where(
                        (Organisation.code == args.org) | (Organisation.id == args.org)
                    )
                )
            ).scalar_one_or_none()
            if org is None and args.org_kind:
                org = await identity.create_organisation(
                    session, kind=args.org_kind, name=args.org, code=args.org
                )
                print(f"Created organisation {org.code} ({org.kind}); id {org.id}")
            if org is None:
                raise CliError(
                    f"no organisation with code or id {args.org!r}; add --org-kind service_provider "
                    "(or another kind) to create it"
                )
            try:
                user = await identity.create_user(
                    session,
                    org_id=org.id,
                    username=args.username,
                    display_name=args.name or args.username,
                    role=args.role,
                    password=password,
                )
            except DomainError as exc:
                raise CliError(f"{exc.message} ({exc.code})") from None
            await session.commit()
            print(f"Created user {user.username} ({user.role}) in {org.name}; id {user.id}")
            return 0
    finally:
        await engine.dispose()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldsync",
        description="fieldsync: the field-operations backend (API, sync engine, push, chat, workers).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="migrate, then serve the API (with the worker in-process)",
        description=(
            "Apply migrations, optionally seed the demo network, and serve the API with the job "
            "scheduler in the same process. In production run several `serve --no-worker` processes "
            "(PostgreSQL and Redis) and one or more `fieldsync worker`."
        ),
    )
    serve.add_argument("--host", help="address to bind (default FIELDSYNC_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default FIELDSYNC_PORT or 8000)")
    serve.add_argument(
        "--processes",
        type=int,
        default=1,
        help="API processes sharing the port (use PostgreSQL and FIELDSYNC_REDIS_URL for more than 1)",
    )
    serve.add_argument(
        "--seed-demo", action="store_true", help="seed the demo network if the database is empty"
    )
    serve.add_argument(
        "--no-worker", action="store_true", help="do not run the job scheduler in this process"
    )
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations on start")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser(
        "worker",
        help="run the background jobs (push, images, SLA, compaction)",
        description="Run the job scheduler alone, for API processes started with `serve --no-worker`.",
    )
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser(
        "migrate",
        help="apply database migrations (Alembic) to the newest revision",
        description="Apply every pending migration to FIELDSYNC_DATABASE_URL (default var/fieldsync.db).",
    )
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser(
        "demo-seed",
        help="create the demo network: 2 suppliers, 6 distributors, 300 shops…",
        description=(
            "Create the demo network (2 suppliers, 6 distributors in 3 provinces, 300 terminals, "
            "1,000 SKUs with prices, authorisations and quotas, one user of every role, and some "
            "activity), unless it is already there. Migrates first."
        ),
    )
    seed.set_defaults(func=cmd_demo_seed)

    user = sub.add_parser("user", help="manage users", description="Manage users.")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    create = user_sub.add_parser(
        "create",
        help="create a user in an organisation",
        description="Create a user. The password is asked for unless --password is given.",
        epilog=(
            "examples:\n"
            "  fieldsync user create alice --org platform --role admin --org-kind service_provider\n"
            "  fieldsync user create bob --org dist-00 --role field_staff --password 'long secret'"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument("username")
    create.add_argument("--org", required=True, help="organisation code or id (e.g. platform, dist-00)")
    create.add_argument(
        "--role",
        required=True,
        choices=ROLES,
    )
    create.add_argument(
        "--org-kind",
        choices=ORG_KINDS,
        help="create the organisation with this kind if no organisation has that code "
        "(for the first administrator of an empty database)",
    )
    create.add_argument("--name", help="display name (default: the username)")
    create.add_argument("--password", help="password (8+ characters); prompted for when omitted")
    create.set_defaults(func=cmd_user_create)
    cmd_evidence.add_parser(sub)
    cmd_simulate.add_parser(sub)
    cmd_forecast.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"fieldsync: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
