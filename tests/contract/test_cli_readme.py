"""Every ``fieldsync`` command and subcommand is in the README's command table and has a real
``--help`` text (a description, not only the usage line)."""

from __future__ import annotations

import argparse
from pathlib import Path

from fieldsync.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands(
    parser: argparse.ArgumentParser, prefix: str = "fieldsync"
) -> list[tuple[str, argparse.ArgumentParser]]:
    """Leaf commands (``fieldsync evidence verify``, …) with their parsers."""
    found: list[tuple[str, argparse.ArgumentParser]] = []
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        return [(prefix, parser)]
    for name, child in subparsers[0].choices.items():
        found.extend(_commands(child, f"{prefix} {name}"))
    return found


def test_every_command_is_in_the_readme_table_with_a_help_text():
    table = [line for line in README.read_text().splitlines() if line.startswith("| `fieldsync ")]
    commands = _commands(build_parser())
    assert len(commands) >= 8
    for command, parser in commands:
        assert any(row.startswith(f"| `{command}") for row in table), f"{command} is not in the README table"
        assert parser.description, f"`{command} --help` has no description"
