"""Arguments a careless caller passes: refused with a clear ``ValueError`` before anything is
sent, and a command line whose output cannot be written ends with a message, not a traceback."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from cometapi_replicate import AsyncClient, Client
from cometapi_replicate._filenames import check_name_template
from cometapi_replicate.testing import SandboxServer

from ..conftest import Facade, ScriptedAPI, prediction_body
from .test_e2e import CLI, cli

NAN = math.nan


def test_a_nan_timeout_is_refused_not_taken_as_no_limit(
    make: Callable[..., tuple[Facade, ScriptedAPI]],
) -> None:
    # Unchecked, NaN meant "no deadline": the wait ran until the prediction ended.
    facade, api = make([prediction_body("processing"), prediction_body("succeeded")])
    for call in (facade.wait, facade.watch):
        with pytest.raises(ValueError, match="timeout"):
            call("abc", timeout=NAN)
        with pytest.raises(ValueError, match="poll_interval"):
            call("abc", timeout=5, poll_interval=NAN)
    assert api.requests == [], "nothing is sent"


@pytest.mark.parametrize("timeout", [NAN, math.inf, -1.0, 0.0, httpx.Timeout(5, read=NAN)])
def test_a_client_timeout_that_cannot_bound_a_request_is_refused(timeout: Any) -> None:
    for cls in (Client, AsyncClient):
        with pytest.raises(ValueError, match="timeout"):
            cls("sk-test", timeout=timeout)


def _cyclic() -> dict[str, Any]:
    looped: dict[str, Any] = {}
    looped["self"] = looped
    return looped


@pytest.mark.parametrize(
    "model_input",
    [{"x": NAN}, {"x": math.inf}, {"x": object()}, {"x": {1, 2}}, _cyclic()],
    ids=["nan", "inf", "object", "set", "cyclic"],
)
def test_an_input_that_is_not_json_is_a_value_error_before_the_network(
    model_input: dict[str, Any],
) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with (
        Client("sk-test", http_client=http) as client,
        pytest.raises(ValueError, match="input is not JSON"),
    ):
        client.predictions.create("o/m", model_input)
    assert sent == []


@pytest.mark.parametrize(
    "option",
    [["--concurrency", "0"], ["--concurrency", "-5"], ["--timeout", "-1"], ["--timeout", "nan"]],
)
def test_batch_bad_numbers_are_usage_errors(
    env: dict[str, str], tmp_path: Path, option: list[str]
) -> None:
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"prompt": "a"}\n')
    out = tmp_path / "out"
    result = cli(env, "batch", "o/m", "--inputs", str(inputs), "--out", str(out), *option)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "error: " in result.stderr
    assert not out.exists(), "nothing was started"


def _prediction(server: SandboxServer) -> str:
    with Client(**server.sandbox.client_kwargs()) as client:
        return client.run("o/m", {"sandbox_queue": 0, "sandbox_run": 0}).id


def test_a_full_stdout_is_an_error_message_not_a_traceback(
    server: SandboxServer, env: dict[str, str]
) -> None:
    pid = _prediction(server)
    for json_flag in ([], ["--json"]):
        with open("/dev/full", "w") as full:
            result = subprocess.run(
                [*CLI, "get", pid, *json_flag],
                env=env,
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                timeout=60,
            )
        assert result.returncode == 4
        assert result.stderr.startswith("error: cannot write the output"), result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("closed", ["stdout", "stderr"])
def test_a_closed_descriptor_is_no_traceback(
    server: SandboxServer, env: dict[str, str], closed: str
) -> None:
    pid = _prediction(server)
    # Python sees a descriptor closed by the shell (``>&-``) as sys.stdout/sys.stderr = None.
    fd = 1 if closed == "stdout" else 2
    result = subprocess.run(
        ["bash", "-c", f'exec {fd}>&-; exec "$@"; ', "sh", *CLI, "get", pid, "--json"],
        env=env,
        stdout=subprocess.PIPE if closed == "stderr" else subprocess.DEVNULL,
        stderr=subprocess.PIPE if closed == "stdout" else subprocess.DEVNULL,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    if closed == "stdout":
        assert result.stderr == ""
    else:
        assert pid in result.stdout


@pytest.mark.parametrize("template", ["{index:>999999999}", "{id:.{index}}", "{stem:0>256}"])
def test_a_name_template_that_would_build_a_huge_name_is_refused_at_once(template: str) -> None:
    # Unchecked, the first took gigabytes and minutes to build a name cut to 255 bytes.
    with pytest.raises(ValueError, match="name template"):
        check_name_template(template)
    assert check_name_template("{index:0>255}{ext}")
