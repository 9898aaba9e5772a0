"""The TypeScript SDK's figures: runs ``npm run bench`` in ``clients/typescript`` and passes its
one JSON line through (initial sync rows/s into SQLite and IndexedDB beside the server's pull
rate in the same run, mutation → other phone's replica latency p50/p99, load average).

    python bench/sdk_client.py        # needs Node.js 20+, clients/typescript/node_modules, /usr/bin/chromium
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "clients" / "typescript"


def main() -> int:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["npm", "run", "--silent", "bench"], cwd=PACKAGE, env=env, capture_output=True, text=True, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stdout + done.stderr)
        return done.returncode or 1
    print(lines[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
