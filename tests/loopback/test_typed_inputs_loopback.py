"""Refused inputs over real sockets: the sandbox on 127.0.0.1 counts every request it gets."""

from __future__ import annotations

import asyncio

import pytest

from cometapi_replicate import APIStatusError, AsyncClient, Client, InvalidInputError
from cometapi_replicate.testing import SandboxServer

FLUX = "black-forest-labs/flux-schnell"
BAD = {"prompt": "a fox", "aspect_ratio": "16x9", "num_outputs": 5}


def test_refusals_reach_no_socket_and_the_escape_meets_the_sandbox_422(
    server: SandboxServer,
) -> None:
    sandbox = server.sandbox
    before = len(sandbox.requests)
    with Client(**sandbox.client_kwargs()) as client:
        with pytest.raises(InvalidInputError) as refused:
            client.run(FLUX, BAD)
        assert refused.value.fields == ["aspect_ratio", "num_outputs"]
        with pytest.raises(InvalidInputError):
            client.batch(FLUX, [{"prompt": "ok"}, BAD])
        assert len(sandbox.requests) == before
        with pytest.raises(APIStatusError) as answered:
            client.predictions.create(FLUX, BAD, validate=False)
    assert answered.value.status_code == 422
    assert "input.aspect_ratio" in answered.value.message
    assert "input.num_outputs" in answered.value.message
    assert len(sandbox.requests) == before + 1


def test_the_async_client_refuses_before_its_first_request(server: SandboxServer) -> None:
    sandbox = server.sandbox
    before = len(sandbox.requests)

    async def main() -> None:
        async with AsyncClient(**sandbox.client_kwargs()) as client:
            with pytest.raises(InvalidInputError):
                await client.run(FLUX, BAD)
            with pytest.raises(InvalidInputError):
                client.batch(FLUX, [BAD])

    asyncio.run(main())
    assert len(sandbox.requests) == before
