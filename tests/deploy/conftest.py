"""Fixtures for tests that run several real fieldsync processes sharing Redis (and PostgreSQL)."""

from __future__ import annotations

import os
import warnings

import pytest


def skip_loudly(reason: str) -> None:
    """Skip, and say so in the warnings summary too: a deployment test that did not run is news."""
    warnings.warn(f"DEPLOYMENT TEST NOT RUN: {reason}", UserWarning, stacklevel=2)
    pytest.skip(f"DEPLOYMENT TEST NOT RUN: {reason}")


@pytest.fixture
def redis_url() -> str:
    """The test Redis (``FIELDSYNC_TEST_REDIS_URL``); the test is skipped loudly without it."""
    url = os.environ.get("FIELDSYNC_TEST_REDIS_URL")
    if not url:
        skip_loudly("set FIELDSYNC_TEST_REDIS_URL (processes share their state through Redis)")
    return url
