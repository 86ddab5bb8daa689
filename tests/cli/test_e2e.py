"""End to end over real sockets: the sandbox server on 127.0.0.1 and the command line."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cometapi_replicate import APITimeoutError, AsyncClient, Client, is_terminal
from cometapi_replicate.testing import SANDBOX_KEY, Fault, SandboxServer

CLI = [sys.executable, "-m", "cometapi_replicate"]


def cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_server_listens_on_loopback(server: SandboxServer) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.sandbox.files_url.startswith("http://127.0.0.1:")
    assert server.sandbox.files_url != server.base_url, "outputs come from a second origin"


def test_run_downloads_real_pngs_and_prints_json(env: dict[str, str], tmp_path: Path) -> None:
    result = cli(
        env,
        "run",
        "black-forest-labs/flux-schnell",
        "-i",
        "prompt=a boat",
        "-i",
        "num_outputs=2",
        "--download",
        str(tmp_path),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["prediction"]["status"] == "succeeded"
    assert payload["prediction"]["input"] == {"prompt": "a boat", "num_outputs": 2}
    files = [Path(p) for p in payload["files"]]
    pid = payload["prediction"]["id"]
    assert [f.name for f in files] == [f"{pid}-0.png", f"{pid}-1.png"]
    assert all(f.read_bytes().startswith(b"\x89PNG") for f in files)
    assert SANDBOX_KEY not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["run", "o/m", "-i", "sandbox_outcome=succeeded"], 0),
        (["run", "o/m", "-i", "sandbox_outcome=failed"], 1),
        (["run", "o/m", "-i", "sandbox_outcome=canceled"], 1),
        (["run", "o/m", "-i", "sandbox_outcome=aborted"], 1),
        (["run", "o/m", "-i", "sandbox_run=60", "--timeout", "1.5"], 3),
        (["get", "doesnotexist"], 4),
        (["get", "../etc"], 2),
        (["run", "not-a-model"], 2),
        (["run", "o/m", "-i", "novalue"], 2),
        (["frobnicate"], 2),
    ],
)
def test_exit_codes(env: dict[str, str], args: list[str], code: int) -> None:
    result = cli(env, *args)
    assert result.returncode == code, result.stderr
    if code not in (0, 1):
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) >= 1


def test_a_wrong_key_is_one_line_and_never_printed(env: dict[str, str]) -> None:
    secret = "sk-users-real-key-987654321"
    result = cli({**env, "COMETAPI_KEY": secret}, "get", "abc")
    assert result.returncode == 4
    assert result.stderr.startswith("error: 401")
    assert secret not in result.stdout + result.stderr


def test_get_wait_and_download_by_id(env: dict[str, str], tmp_path: Path) -> None:
    created = json.loads(cli(env, "run", "o/m", "-i", "sandbox_run=0.3", "--json").stdout)
    pid = created["id"]
    got = json.loads(cli(env, "get", pid, "--json").stdout)
    assert got["id"] == pid and got["status"] == "succeeded"
    waited = cli(env, "wait", pid)
    assert waited.returncode == 0 and f"id:      {pid}" in waited.stdout
    saved = cli(env, "download", pid, str(tmp_path), "--json")
    assert json.loads(saved.stdout) == [str(tmp_path / f"{pid}-0.png")]
    again = cli(env, "download", pid, str(tmp_path))
    assert again.returncode == 5 and "exists" in again.stderr and "--overwrite" in again.stderr


def test_wait_across_injected_429s_and_5xx_bursts(
    server: SandboxServer, env: dict[str, str]
) -> None:
    pid = json.loads(cli(env, "run", "o/m", "-i", "sandbox_run=0", "--json").stdout)["id"]
    server.sandbox.inject(Fault.rate_limit(0.5), times=2, on="get")
    server.sandbox.inject(Fault.server_error(502), times=4, on="get")
    server.sandbox.inject(Fault.html(503), times=2, on="get")
    result = cli(env, "wait", pid, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "succeeded"


def test_without_a_terminal_progress_is_plain_status_lines(env: dict[str, str]) -> None:
    result = cli(env, "run", "o/m", "-i", "sandbox_run=1.5", "-i", "sandbox_steps=10")
    lines = result.stderr.strip().splitlines()
    # the elapsed seconds are whatever a busy machine makes them
    assert re.search(r": starting \[\d+s\]$", lines[0]), lines[0]
    assert any(": processing " in line and "%" in line for line in lines)
    assert lines[-1].split(": ")[1].startswith("succeeded")
    assert "\x1b" not in result.stderr, "no escape codes when stderr is not a terminal"


def run_on_pty(env: dict[str, str], *args: str) -> tuple[int, str]:
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*CLI, *args], env=env, stdout=subprocess.PIPE, stderr=slave, text=True
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    os.close(master)
    process.wait(10)
    return process.returncode, b"".join(chunks).decode("utf-8", "replace")


def test_a_live_progress_bar_on_a_terminal(env: dict[str, str]) -> None:
    code, screen = run_on_pty(
        {**env, "COLUMNS": "100", "TERM": "xterm-256color"},
        "run",
        "o/m",
        "-i",
        "sandbox_run=2",
        "-i",
        "sandbox_steps=10",
    )
    assert code == 0
    assert "━" in screen, "a drawn bar"
    assert "100%" in screen and "10/10" in screen and "succeeded" in screen
    assert "\x1b[" in screen, "redrawn in place"
    code, plain = run_on_pty(
        {**env, "NO_COLOR": "1", "COLUMNS": "100", "TERM": "xterm-256color"},
        "run",
        "o/m",
        "-i",
        "sandbox_run=0.5",
    )
    assert code == 0 and "━" in plain
    assert "\x1b[38;" not in plain and "\x1b[3" + "2m" not in plain, "NO_COLOR: no colours"


def test_client_over_sockets_survives_a_hanging_poll(server: SandboxServer) -> None:
    with Client(**server.sandbox.client_kwargs(), timeout=0.5, max_retries=0) as client:
        prediction = client.predictions.create("o/m", {"sandbox_run": 0})
        server.sandbox.inject(Fault.hang(), on="get")
        with pytest.raises(APITimeoutError):
            client.predictions.get(prediction.id)
        server.sandbox.inject(Fault.hang(), on="get")
        server.sandbox.inject(Fault.drop(), on="get")
        server.sandbox.inject(Fault.truncate(), on="get")
        assert client.predictions.wait(prediction.id, timeout=30).status == "succeeded"


def test_version(env: dict[str, str]) -> None:
    from cometapi_replicate import __version__

    result = cli(env, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"cometapi-replicate {__version__}"


def test_outputs_of_a_prediction_passed_before_it_ended_are_read_afresh(
    server: SandboxServer, tmp_path: Path
) -> None:
    """``wait(p)`` without keeping its result, then ``download(p)``: as with ``p.id``, one GET
    reads the state the outputs come from; a prediction that had ended is used as it is."""

    def gets(prediction_id: str) -> int:
        wanted = f"{server.base_url}/replicate/v1/predictions/{prediction_id}"
        return sum(1 for m, url in server.sandbox.requests if m == "GET" and url == wanted)

    with Client(**server.sandbox.client_kwargs()) as client:
        p = client.predictions.create("o/m", {"sandbox_queue": 0, "sandbox_run": 0.2})
        assert not is_terminal(p)
        done = client.predictions.wait(p)
        before = gets(p.id)
        [path] = client.predictions.download(p, tmp_path / "sync")
        assert client.predictions.read_output(p) == path.read_bytes()
        with client.predictions.stream_output(p) as chunks:
            assert b"".join(chunks) == path.read_bytes()
        assert gets(p.id) == before + 3, "one GET each"
        client.predictions.download(done, tmp_path / "ended")
        assert gets(p.id) == before + 3, "an ended prediction is not read again"

    async def main() -> bytes:
        async with AsyncClient(**server.sandbox.client_kwargs()) as client:
            [saved] = await client.predictions.download(p, tmp_path / "async")
            assert await client.predictions.read_output(p) == saved.read_bytes()
            async with client.predictions.stream_output(p) as chunks:
                return b"".join([chunk async for chunk in chunks])

    assert asyncio.run(main()) == path.read_bytes()
    assert gets(p.id) == before + 6
