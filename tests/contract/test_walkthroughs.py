"""The walkthroughs that open the docs pages run as written: their ```` ```sh walkthrough ````
blocks, in order, in one bash per page, against a live server on a fresh seeded database."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fieldsync.simulation.server import ServerProcess

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ["orders", "field-operations", "media", "messaging", "sync-protocol"]
BLOCK = re.compile(r"^```sh walkthrough\n(.*?)^```", re.DOTALL | re.MULTILINE)


def walkthrough(page: str) -> str:
    """The page's walkthrough blocks joined in order (one shell session)."""
    blocks = BLOCK.findall((DOCS / f"{page}.md").read_text())
    return "\n".join(blocks)


def test_every_page_opens_with_a_walkthrough():
    for page in PAGES:
        text = (DOCS / f"{page}.md").read_text()
        first_section = text.split("\n## ", 2)[1] if "\n## " in text else ""
        assert first_section.startswith("Walkthrough"), f"docs/{page}.md does not open with its walkthrough"
        assert walkthrough(page).strip(), f"docs/{page}.md has no ```sh walkthrough block"


@pytest.mark.timeout(300)
def test_the_walkthroughs_run_against_a_live_server(db_url, network, tmp_path):
    assert shutil.which("jq") and shutil.which("curl"), "the walkthroughs use curl and jq"
    with ServerProcess(db_url, tmp_path / "server", env="test") as server:
        for page in PAGES:
            script = walkthrough(page)
            if not script.strip():
                continue
            workdir = tmp_path / page
            workdir.mkdir()
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=workdir,
                env={"PATH": "/usr/bin:/bin", "BASE": server.url, "HOME": str(workdir)},
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, (
                f"docs/{page}.md walkthrough failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n"
                f"server log:\n{server.log_tail()}"
            )
