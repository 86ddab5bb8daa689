"""``make demo``: a model and a prompt to image files on disk, through the command line.

Against a local sandbox on a free loopback port (started here and stopped at the end), or,
with ``COMETAPI_KEY`` set and ``DEMO_LIVE=1``, against the real API.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cometapi_replicate.testing import SANDBOX_KEY

MODEL = "black-forest-labs/flux-schnell"
PROMPT = "A paper boat floating on calm water at sunrise."
OUTPUT = "demo-output"
CLI = [sys.executable, "-m", "cometapi_replicate"]


def run_job(env: dict[str, str]) -> int:
    command = [
        *CLI,
        "run",
        MODEL,
        "-i",
        f"prompt={PROMPT}",
        "-i",
        "num_outputs=2",
        "--download",
        OUTPUT,
        "--overwrite",
    ]
    print(
        "$ cometapi-replicate run",
        MODEL,
        f'-i "prompt={PROMPT}" -i num_outputs=2 --download {OUTPUT}/ --overwrite',
        flush=True,
    )
    code = subprocess.call(command, env=env)
    if code == 0:
        print(f"images saved in {Path(OUTPUT).resolve()}/")
    return code


def main() -> int:
    if os.environ.get("DEMO_LIVE") == "1":
        if not os.environ.get("COMETAPI_KEY"):
            print("DEMO_LIVE=1 needs COMETAPI_KEY", file=sys.stderr)
            return 2
        return run_job(dict(os.environ))
    sandbox = subprocess.Popen([*CLI, "sandbox", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert sandbox.stdout is not None
        base_url = sandbox.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            print("the sandbox did not start", file=sys.stderr)
            return 4
        env = {**os.environ, "COMETAPI_BASE_URL": base_url, "COMETAPI_KEY": SANDBOX_KEY}
        return run_job(env)
    finally:
        sandbox.terminate()
        try:
            sandbox.wait(10)
        except subprocess.TimeoutExpired:
            sandbox.kill()
            sandbox.wait()


if __name__ == "__main__":
    sys.exit(main())
