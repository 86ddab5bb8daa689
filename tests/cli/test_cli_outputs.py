"""The command line with every output shape, over real sockets (the sandbox on 127.0.0.1)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cometapi_replicate.testing import Fault, SandboxServer

from .test_e2e import cli

FAST = ["-i", "sandbox_queue=0", "-i", "sandbox_run=0"]


def run_with(env: dict[str, str], output: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return cli(env, "run", "o/m", *FAST, "-i", f"sandbox_output={json.dumps(output)}", *args)


SEGMENTS = {"transcription": "hello there", "segments": [{"start": 0.0, "text": "hello"}]}


@pytest.mark.parametrize(
    ("output", "shown"),
    [
        ("A photo of a cat.", "output:  A photo of a cat."),
        ("line one\nline two", "output:  line one\nline two"),
        (42, "output:  42"),
        (0.25, "output:  0.25"),
        (SEGMENTS, "output:  " + json.dumps(SEGMENTS, indent=2)),
        (
            [{"label": "cat", "score": 0.9}],
            "output:  " + json.dumps([{"label": "cat", "score": 0.9}], indent=2),
        ),
        (["Hello", " world"], 'output:  [\n  "Hello",\n  " world"\n]'),
    ],
    ids=["text", "lines", "int", "float", "object", "objects", "tokens"],
)
def test_outputs_without_files_are_printed_and_exit_0(
    env: dict[str, str], tmp_path: Path, output: Any, shown: str
) -> None:
    result = run_with(env, output, "--download", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert shown in result.stdout
    assert "no files" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
    payload = json.loads(run_with(env, output, "--json", "--download", str(tmp_path)).stdout)
    assert payload["prediction"]["output"] == output and payload["files"] == []
    saved = cli(env, "download", payload["prediction"]["id"], str(tmp_path), "--json")
    assert saved.returncode == 0 and json.loads(saved.stdout) == []


def test_files_inside_an_object_are_saved_with_a_name_template(
    env: dict[str, str], tmp_path: Path
) -> None:
    output = {"zip": "$file0", "frames": [{"file": "$file1"}], "fps": 24}
    result = run_with(env, output, "--download", str(tmp_path), "--name", "{index}-{stem}{ext}")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0-out-0.png", "1-out-1.png"]
    assert '"fps": 24' in result.stdout and "saved:" in result.stdout
    pid = result.stdout.split()[1]
    saved = cli(env, "download", pid, str(tmp_path / "b"), "--json")
    assert json.loads(saved.stdout) == [str(tmp_path / "b" / f"{pid}-{i}.png") for i in (0, 1)]


def test_a_failed_download_still_prints_the_prediction(
    server: SandboxServer, env: dict[str, str], tmp_path: Path
) -> None:
    first = json.loads(cli(env, "run", "o/m", *FAST, "--download", str(tmp_path), "--json").stdout)
    pid = first["prediction"]["id"]
    again = cli(env, "wait", pid, "--download", str(tmp_path), "--json")
    assert again.returncode == 5
    assert "--overwrite" in again.stderr and "overwrite=True" not in again.stderr
    payload = json.loads(again.stdout)
    assert payload["prediction"]["id"] == pid and payload["files"] is None
    assert "--overwrite" in payload["error"]
    assert cli(env, "wait", pid, "--download", str(tmp_path), "--overwrite").returncode == 0
    server.sandbox.inject(Fault.server_error(500), times=3, on="file")
    broken = cli(env, "download", pid, str(tmp_path / "new"), "--json")
    assert broken.returncode == 5, broken.stderr
    assert json.loads(broken.stdout)["prediction"]["id"] == pid
    assert list((tmp_path / "new").iterdir()) == []
    assert cli(env, "download", "nosuchprediction", str(tmp_path)).returncode == 4
    (tmp_path / "file").touch()  # a file where the folder should be
    blocked = cli(env, "download", pid, str(tmp_path / "file" / "out"))
    assert blocked.returncode == 5 and pid in blocked.stdout
    assert blocked.stderr == f"error: {tmp_path / 'file' / 'out'}: Not a directory\n"


def test_a_bad_name_template_creates_nothing(server: SandboxServer, env: dict[str, str]) -> None:
    before = len(server.sandbox.requests)
    result = cli(env, "run", "o/m", *FAST, "--download", "out", "--name", "{nope}{ext}")
    assert result.returncode == 2 and "{nope}" in result.stderr
    assert len(server.sandbox.requests) == before, "no prediction was created"


def test_the_exit_codes_are_documented(env: dict[str, str]) -> None:
    assert "5         succeeded, but saving its files failed" in cli(env, "--help").stdout
