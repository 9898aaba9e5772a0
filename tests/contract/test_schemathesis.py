"""The live app holds to its OpenAPI document under generated requests, on both databases, as an
admin and as a distributor user: no 5xx, only documented statuses, bodies as documented."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from fieldsync.simulation.server import ServerProcess
from tests.contract.fuzz import fuzz
from tests.factories import DEMO_PASSWORD

# Cases per operation (about 105 operations): the whole file stays within ~3 minutes on 2 cores.
MAX_EXAMPLES = int(os.environ.get("FIELDSYNC_FUZZ_EXAMPLES", "3"))


def _token(base_url: str, username: str) -> str:
    import httpx

    response = httpx.post(
        f"{base_url}/auth/login",
        json={"username": username, "password": DEMO_PASSWORD, "client_id": f"fuzz-{username}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


class FuzzFigures(UserWarning):
    """Not a problem: the figures of a schemathesis run, shown in pytest's warnings summary (the
    one place a passing test's output reaches the terminal, under pytest-xdist too)."""


def _report(line: str, artifacts: Path) -> None:
    print(line)  # noqa: T201 - with -s
    with (artifacts / "schemathesis.txt").open("a") as out:
        out.write(line + "\n")
    warnings.warn(FuzzFigures(line), stacklevel=2)


@pytest.mark.timeout(240)
def test_generated_requests_find_nothing(db_url, network, tmp_path, request, artifacts_dir):
    with ServerProcess(db_url, tmp_path / "server", env="test") as server:
        runs = []
        for username in ("admin", "dist-north"):
            headers = {"Authorization": f"Bearer {_token(server.url, username)}"}
            label = f"{request.node.callspec.id} as {username}"
            run = fuzz(server.url, headers, label, max_examples=MAX_EXAMPLES)
            runs.append(run)
            _report(run.line(), artifacts_dir)
        failures = [f for run in runs for f in run.failures]
        assert not failures, "\n\n".join(failures[:10]) + f"\n\n({len(failures)} failing operations)"
        assert all(run.cases >= run.operations for run in runs)
