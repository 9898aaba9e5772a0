"""`fieldsync evidence verify|public-key`: check the evidence log offline (issue 5)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """Register ``evidence`` on the top-level subparsers."""
    evidence = sub.add_parser(
        "evidence",
        help="check the tamper-evident evidence log",
        description="Check the tamper-evident evidence log of finalised acceptances and inspections "
        "offline, against the database and the media store the settings name.",
    )
    actions = evidence.add_subparsers(dest="evidence_command", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify",
        help="verify the whole log against the stored records and photos",
        description="Re-derive every entry, the Merkle roots and signed tree heads, re-read each logged "
        "record and re-hash each photo. Exit 0 if all match, 1 naming the first entry that does not.",
    )
    verify.add_argument(
        "--public-key",
        help="hex Ed25519 public key to check tree heads with (default: the configured signing key's)",
    )
    verify.set_defaults(func=run)
    public = actions.add_parser(
        "public-key",
        help="print the public key that verifies tree heads",
        description="Print the hex Ed25519 public key of the configured signing key (and its key id): "
        "give it to whoever verifies the log elsewhere (`fieldsync evidence verify --public-key HEX`).",
    )
    public.set_defaults(func=run_public_key)


def _settings() -> Any:
    from backend.config import ConfigError, load_settings

    try:
        return load_settings()
    except ConfigError as exc:
        print(f"fieldsync: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def run_public_key(args: argparse.Namespace) -> int:
    from backend.evidence.signing import key_id, load_signing_key, public_key_bytes

    key = load_signing_key(_settings())
    print(f"{public_key_bytes(key).hex()}  (key id {key_id(key)}, ed25519)")
    return 0


def run(args: argparse.Namespace) -> int:
    from backend.evidence.signing import load_signing_key, public_key_bytes

    settings = _settings()
    public_key = (
        bytes.fromhex(args.public_key) if args.public_key else public_key_bytes(load_signing_key(settings))
    )
    report = asyncio.run(verify(settings, public_key))
    if report.failure is not None:
        print(f"FAILED at {report.failure}", file=sys.stderr)
        print(f"({report.entries} entries before it matched)", file=sys.stderr)
        return 1
    print(
        f"OK: {report.entries} entries, {report.photos} photos, {report.records_checked} records and "
        f"{report.heads_checked} signed tree heads match; root {report.root or '-'}"
    )
    if report.photos_pending:
        index, sha256 = report.photos_pending[0]
        print(
            f"note: {len(report.photos_pending)} logged photos were never uploaded "
            f"(first: entry {index}, {sha256})"
        )
    if report.unchecked_types:
        print(f"note: no record loader registered for {', '.join(sorted(report.unchecked_types))}")
    return 0


async def verify(settings: Any, public_key: bytes | None) -> Any:
    from backend.db import make_engine, make_session_factory
    from backend.evidence.sources import import_domain_services
    from backend.evidence.verify import verify_log
    from backend.media.storage import open_storage

    import_domain_services()
    engine = make_engine(settings.resolved_database_url)
    try:
        async with make_session_factory(engine)() as session:
            return await verify_log(session, open_storage(settings), public_key)
    finally:
        await engine.dispose()
