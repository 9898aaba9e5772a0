"""schemathesis against a live server: every operation of ``/schema/openapi.json``, a bounded
number of generated cases each (valid ones and invalid ones), with the checks that hold the
contract to what the server does."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

_LISTED = re.compile(r"`([a-z0-9_]+)`")


class UndocumentedCode(AssertionError):
    """An error answered with a ``code`` its status's description does not list."""


def documented_code(_ctx: Any, response: Any, case: Any) -> None:
    """An error's ``code`` is among those the document lists for the route and status."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return
    spec = case.operation.definition.raw.get("responses", {}).get(str(response.status_code))
    if not isinstance(spec, dict):
        return  # an undocumented status: status_code_conformance says so
    try:
        code = json.loads(response.content).get("code")
    except (ValueError, AttributeError):
        return  # not the error body: response_schema_conformance says so
    listed = set(_LISTED.findall(spec.get("description", "")))
    if code not in listed:
        raise UndocumentedCode(
            f"{case.operation.label} answered {response.status_code} {code!r}; listed: {sorted(listed)}"
        )


CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, documented_code]
# Signing the fuzzer's own device out would turn every later case into a 401.
SKIP = {"POST /auth/logout", "POST /devices/{device_id}/revoke", "POST /admin/users/{user_id}/revoke"}


@dataclass
class FuzzRun:
    label: str
    cases: int = 0
    operations: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"schemathesis {self.label}: {self.cases} cases over {self.operations} operations, "
            f"{len(self.failures)} failures, {self.seconds:.1f} s"
        )


def fuzz(
    base_url: str, headers: dict[str, str], label: str, *, max_examples: int, only: str | None = None
) -> FuzzRun:
    """Run every operation's generated cases (``only``: of the operations whose label holds it)
    against ``base_url`` as the holder of ``headers``."""
    run = FuzzRun(label)
    started = time.monotonic()
    schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in SKIP or (only is not None and only not in operation.label):
            continue
        run.operations += 1

        @settings(
            max_examples=max_examples,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        @given(
            case=operation.as_strategy(GenerationMode.POSITIVE)
            | operation.as_strategy(GenerationMode.NEGATIVE)
        )
        def check(case: Any) -> None:
            run.cases += 1
            case.call_and_validate(base_url=base_url, session=session, headers=headers, checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis's FailureGroup is a BaseExceptionGroup
            # One failing operation must not hide the others'.
            run.failures.append(f"{operation.label}: {exc}"[:3000])
    run.seconds = time.monotonic() - started
    return run
