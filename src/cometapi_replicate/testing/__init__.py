"""A local, CometAPI-compatible sandbox for tests, demos and benchmarks.

In-process (fast, no sockets)::

    sandbox = Sandbox(queue=0.1, run=0.5)
    http = httpx.Client(transport=sandbox.transport())
    client = Client(**sandbox.client_kwargs(), http_client=http)

Over real HTTP on 127.0.0.1 (needs the ``sandbox`` extra)::

    with SandboxServer(Sandbox()) as server:
        client = Client(**server.sandbox.client_kwargs())
"""

from .sandbox import OUTCOMES, SANDBOX_KEY, Fault, Sandbox, parse_fault
from .server import SandboxServer

__all__ = ["OUTCOMES", "SANDBOX_KEY", "Fault", "Sandbox", "SandboxServer", "parse_fault"]
