"""The benchmark's sandbox server: its own process, pinned to one core, told what to do on stdin.

Prints ``{"api", "files", "pinned"}`` once serving; then answers one JSON line per command:
``counts`` (GET requests per prediction id), ``cpu`` (the process's CPU seconds), ``create``
(one prediction per input, made in the server itself: ten thousand take a second, and no
client's time or sockets go into them). Stops at the end of its input.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter

from cometapi_replicate.testing import Sandbox, SandboxServer
from tools.bench.common import AUTH, MODEL, SERVER_CPU, pin

_GET = re.compile(r"/replicate/v1/predictions/([A-Za-z0-9]+)$")


def create(sandbox: Sandbox, model_input: object) -> str:
    """Create a prediction as a POST would, without the network; its id."""
    headers = {name.lower(): value for name, value in AUTH.items()}
    body = json.dumps({"input": model_input}).encode()
    reply = sandbox.handle(
        "api", "POST", f"/replicate/v1/models/{MODEL}/predictions", headers, body
    )
    prediction_id: str = json.loads(reply.body)["id"]
    return prediction_id


def main() -> None:
    pinned = pin(SERVER_CPU)
    sandbox = Sandbox()
    with SandboxServer(sandbox) as server:
        print(json.dumps({"api": server.base_url, "files": sandbox.files_url, "pinned": pinned}))
        sys.stdout.flush()
        counted = 0
        counts: Counter[str] = Counter()
        for line in sys.stdin:
            command = json.loads(line)["command"]
            if command == "counts":
                seen = sandbox.requests[counted:]
                counted += len(seen)
                counts.update(
                    m[1] for method, url in seen if method == "GET" and (m := _GET.search(url))
                )
                answer: object = {"counts": counts}
            elif command == "create":
                answer = {"ids": [create(sandbox, i) for i in json.loads(line)["inputs"]]}
            elif command == "cpu":
                answer = {"cpu": time.process_time()}
            else:
                answer = {"error": f"unknown command {command!r}"}
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
