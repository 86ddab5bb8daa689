"""``cometapi-replicate batch`` as a user runs it: a subprocess against the sandbox on loopback.

The sandbox's predictions last tens of milliseconds; the waits below are for conditions
(counts on the sandbox), never for an amount of time.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import pytest

from cometapi_replicate import Client
from cometapi_replicate._batch.records import BatchOutcome, BatchSummary
from cometapi_replicate._cli.batch_command import BatchDisplay
from cometapi_replicate.testing import SANDBOX_KEY, Fault, Sandbox, SandboxServer

MODEL = "black-forest-labs/flux-schnell"
# SIGINT back to Python's handler: a suite started in the background passes it on ignored.
ENTRY = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from cometapi_replicate._cli.main import main; sys.exit(main(sys.argv[1:]))"
)
PATIENCE = 120.0
"""Seconds a condition may take on a very slow machine before the test gives up."""


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(Sandbox(queue=0.02, run=0.05, steps=3)) as running:
        yield running


def env_for(server: SandboxServer) -> dict[str, str]:
    return {**os.environ, "COMETAPI_KEY": SANDBOX_KEY, "COMETAPI_BASE_URL": server.base_url}


def write_inputs(path: Path, count: int, **special: dict[str, Any]) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for n in range(count):
        key = f"k{n:03d}"
        model_input = {"prompt": f"item {n}", "num_outputs": 1 + n % 2, **special.get(key, {})}
        lines.append({"key": key, "input": model_input})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return lines


def command(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "batch",
        MODEL,
        "--inputs",
        str(tmp_path / "in.jsonl"),
        "--out",
        str(tmp_path / "out"),
        "--journal",
        str(tmp_path / "journal.sqlite"),
        "--concurrency",
        "40",
        "--rate",
        "unlimited",
        "--json",
        *extra,
    ]


def run_cli(server: SandboxServer, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        env=env_for(server),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def start_cli(server: SandboxServer, args: list[str], log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", ENTRY, *args],
        env=env_for(server),
        stdout=log.open("w"),
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert process.poll() is None, "the batch ended before the moment to interrupt it"
        assert time.monotonic() < deadline, "the condition never came"
        time.sleep(0.002)


def manifest(text: str) -> list[dict[str, Any]]:
    """The complete lines (a killed run may have left half of its last one)."""
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def creates(sandbox: Sandbox) -> int:
    return sum(sandbox.creates.copy().values())


def folders(out: Path) -> int:
    return sum(1 for p in out.iterdir() if not p.name.startswith(".")) if out.exists() else 0


def test_kill_9_at_three_moments_then_resume_pays_once_and_saves_every_file_once(
    tmp_path: Path, server: SandboxServer
) -> None:
    sandbox, out = server.sandbox, tmp_path / "out"
    lines = write_inputs(tmp_path / "in.jsonl", 500)
    moments: list[Callable[[], bool]] = [
        lambda: creates(sandbox) >= 50,  # creating
        lambda: creates(sandbox) >= 250,  # in the middle
        lambda: folders(out) >= 400,  # saving files
    ]
    for number, moment in enumerate(moments):
        process = start_cli(server, command(tmp_path), tmp_path / f"run{number}.jsonl")
        wait_for(moment, process)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
        assert process.stderr is not None and "resume with: cometapi-replicate batch" in (
            process.stderr.read()
        )
    finished = run_cli(server, command(tmp_path))
    results = manifest(finished.stdout)
    unknown = {r["key"] for r in results if r["status"] == "unknown"}
    assert finished.returncode == (1 if unknown else 0), finished.stderr
    if unknown:  # killed between a create's intent and its answer: may exist, may be paid
        lost = [r for r in results if r["key"] in unknown]
        assert all(r["id"] is None and r["outcome"] == "unknown" for r in lost)
        finished = run_cli(server, command(tmp_path, "--recreate-unknown"))
        assert finished.returncode == 0, finished.stderr
        results = manifest(finished.stdout)

    assert sorted(r["key"] for r in results) == [line["key"] for line in lines]
    assert all(r["status"] == "succeeded" and r["error"] is None for r in results)
    per_input = {line["key"]: sandbox.creates[Sandbox.input_key(line["input"])] for line in lines}
    assert all(count == 1 for key, count in per_input.items() if key not in unknown)
    assert all(count in (1, 2) for key, count in per_input.items() if key in unknown)
    by_key = {r["key"]: r for r in results}
    everything = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    expected = []
    for line in lines:
        key, count = line["key"], line["input"]["num_outputs"]
        names = [f"{key}/out-{i}.png" for i in range(count)]
        assert [Path(f).relative_to(out).as_posix() for f in by_key[key]["files"]] == names
        expected += [key, *names]
    assert everything == sorted(expected)  # each file once; no partial file, no leftover
    files = [out / name for name in expected if "/" in name]
    assert all(path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for path in files)


def test_a_429_storm_slows_the_batch_and_loses_nothing(
    tmp_path: Path, server: SandboxServer
) -> None:
    sandbox = server.sandbox
    sandbox.create_rate, sandbox.create_burst = 100.0, 5
    lines = write_inputs(tmp_path / "in.jsonl", 150)
    finished = run_cli(server, command(tmp_path))
    assert finished.returncode == 0, finished.stderr
    results = manifest(finished.stdout)
    assert sorted(r["key"] for r in results) == [line["key"] for line in lines]
    assert all(r["status"] == "succeeded" for r in results)
    assert all(sandbox.creates[Sandbox.input_key(line["input"])] == 1 for line in lines)
    assert 0 < sandbox.rate_limited < len(lines)


def test_a_failing_item_does_not_stop_the_others(tmp_path: Path, server: SandboxServer) -> None:
    write_inputs(
        tmp_path / "in.jsonl",
        30,
        k004={"sandbox_outcome": "failed"},
        k011={"sandbox_outcome": "canceled"},
    )
    finished = run_cli(server, command(tmp_path))
    assert finished.returncode == 1
    results = {r["key"]: r for r in manifest(finished.stdout)}
    assert len(results) == 30
    assert results["k004"]["status"] == "failed" and "CUDA" in results["k004"]["error"]
    assert results["k011"]["status"] == "canceled"
    ok = [r for key, r in results.items() if key not in ("k004", "k011")]
    assert all(r["status"] == "succeeded" and len(r["files"]) >= 1 for r in ok)
    assert "28 succeeded, 1 failed, 1 canceled" in finished.stderr
    assert finished.stderr.count("30/30 done, 2 failed, 0 unknown, 0 in flight") == 1  # lines

    again = run_cli(server, command(tmp_path))  # a resume reports every item, none sent again
    assert again.returncode == 1
    assert {r["key"]: r["status"] for r in manifest(again.stdout)} == {
        key: r["status"] for key, r in results.items()
    }
    assert all(r["resumed"] for r in manifest(again.stdout))


def test_unknown_items_are_counted_apart_from_failed_ones(
    tmp_path: Path, server: SandboxServer
) -> None:
    write_inputs(tmp_path / "in.jsonl", 10, k009={"sandbox_outcome": "failed"})
    server.sandbox.inject(Fault.server_error(502), times=3, on="create")  # may exist: unknown
    finished = run_cli(server, command(tmp_path))
    assert finished.returncode == 1
    assert "6 succeeded, 1 failed, 0 canceled, 0 timed out, 3 unknown" in finished.stderr
    assert finished.stderr.count("10/10 done, 1 failed, 3 unknown, 0 in flight") == 1


def test_a_refused_run_prints_no_resume_line_and_leaves_no_new_journal(
    tmp_path: Path, server: SandboxServer
) -> None:
    journal = tmp_path / "journal.sqlite"
    lines = write_inputs(tmp_path / "in.jsonl", 3)
    with (tmp_path / "in.jsonl").open("a") as more:  # k001 again
        more.write(json.dumps(lines[1]) + "\n")
    twice = run_cli(server, command(tmp_path))
    assert twice.returncode == 2
    assert twice.stderr == f"error: --inputs {tmp_path / 'in.jsonl'}: key 'k001' appears twice\n"
    assert not journal.exists() and server.sandbox.requests == []

    write_inputs(tmp_path / "in.jsonl", 3)
    assert run_cli(server, command(tmp_path)).returncode == 0  # a journal of three items
    paid = creates(server.sandbox)
    other = run_cli(server, [*command(tmp_path)[:1], "other/model", *command(tmp_path)[2:]])
    assert (
        other.returncode == 4
        and f"is the journal of a batch of {MODEL}, not other/model" in other.stderr
    )
    write_inputs(tmp_path / "in.jsonl", 3, k002={"prompt": "changed"})
    changed = run_cli(server, command(tmp_path))
    assert changed.returncode == 2 and "item 'k002': the input differs" in changed.stderr
    for refused in (other, changed):
        assert "resume with" not in refused.stderr and refused.stdout == ""
    assert creates(server.sandbox) == paid


def test_a_library_batch_refused_at_once_leaves_no_new_journal(tmp_path: Path) -> None:
    sandbox = Sandbox(queue=0, run=0)
    journal = tmp_path / "journal.sqlite"
    http = httpx.Client(transport=sandbox.transport())
    with Client(**sandbox.client_kwargs(), http_client=http) as client:
        with pytest.raises(ValueError, match="appears twice"):
            list(client.batch("o/m", [("a", {}), ("a", {})], journal=journal))
        assert not journal.exists() and not sandbox.creates
        assert [r.outcome for r in client.batch("o/m", [("a", {})], journal=journal)] == [
            BatchOutcome.SUCCEEDED
        ]
    assert journal.exists(), "a journal that recorded something is kept"


def test_a_closed_stdout_stops_the_batch_with_the_command_that_resumes(
    tmp_path: Path, server: SandboxServer
) -> None:
    """Unlike ``get``, a batch whose reader has gone (``| head -1``) has work left: it exits 4
    with the resume line, and the resume finishes it, creating nothing twice."""
    write_inputs(tmp_path / "in.jsonl", 30)
    read, write = os.pipe()
    os.close(read)  # the reader has gone
    try:
        stopped = subprocess.run(
            [sys.executable, "-c", ENTRY, *command(tmp_path)],
            env=env_for(server),
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        os.close(write)
    assert stopped.returncode == 4, stopped.stderr
    assert "resume with: " in stopped.stderr.splitlines()[-1]
    resumed = run_cli(server, command(tmp_path))
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(r["key"] for r in manifest(resumed.stdout)) == [f"k{n:03d}" for n in range(30)]
    assert creates(server.sandbox) == 30, "nothing was created twice"


def test_shards_are_disjoint_and_their_union_is_the_batch(
    tmp_path: Path, server: SandboxServer
) -> None:
    lines = write_inputs(tmp_path / "in.jsonl", 90)
    parts = []
    for index in range(3):
        args = command(tmp_path, "--shard", f"{index}/3")
        journal = args.index("--journal")
        del args[journal : journal + 2]  # the default: one journal per shard
        finished = run_cli(server, args)
        assert finished.returncode == 0, finished.stderr
        parts.append({r["key"] for r in manifest(finished.stdout)})
    assert all(parts) and sum(len(p) for p in parts) == 90
    assert set().union(*parts) == {line["key"] for line in lines}
    journals = sorted(p.name for p in (tmp_path / "out").glob(".batch-journal*"))
    assert journals == [f".batch-journal-shard-{i}-of-3.sqlite" for i in range(3)]
    assert set(server.sandbox.creates.values()) == {1}


@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_ctrl_c_or_sigterm_prints_the_command_that_resumes(
    tmp_path: Path, server: SandboxServer, signum: int, code: int, word: str
) -> None:
    lines = write_inputs(tmp_path / "in.jsonl", 300)
    process = start_cli(server, command(tmp_path), tmp_path / "run.jsonl")
    wait_for(lambda: creates(server.sandbox) >= 30, process)
    process.send_signal(signum)
    assert process.wait(timeout=PATIENCE) == code
    assert process.stderr is not None
    last = process.stderr.read().strip().splitlines()[-1]
    assert last.startswith(f"{word}; resume with: cometapi-replicate batch ")
    resume = shlex.split(last.split("resume with: ", 1)[1])
    finished = run_cli(server, resume[1:])
    # A signal that lands between a create's send and its record loses that answer: the item is
    # unknown (never created twice), at most one per interrupt, and everything else succeeds.
    summary = re.search(
        r"(\d+) succeeded, 0 failed, 0 canceled, 0 timed out, (\d+) unknown, 0 error",
        finished.stderr,
    )
    assert summary is not None, finished.stderr
    succeeded, unknown = int(summary[1]), int(summary[2])
    assert succeeded + unknown == len(lines) and unknown <= 1, finished.stderr
    assert finished.returncode == (0 if unknown == 0 else 1), finished.stderr
    assert len(manifest(finished.stdout)) == len(lines)
    assert set(server.sandbox.creates.values()) == {1}


def test_a_refused_key_exits_4_with_the_command_that_resumes_and_never_the_key(
    tmp_path: Path, server: SandboxServer
) -> None:
    write_inputs(tmp_path / "in.jsonl", 5)
    wrong = "r8_wrong_key_0123456789"
    finished = subprocess.run(
        [sys.executable, "-c", ENTRY, *command(tmp_path)],
        env={**env_for(server), "COMETAPI_KEY": wrong},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert finished.returncode == 4
    assert "resume with: cometapi-replicate batch" in finished.stderr.splitlines()[-1]
    assert wrong not in finished.stderr + finished.stdout
    assert not server.sandbox.creates  # refused: nothing created, nothing unknown


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"prompt": "ok"}\nnot json\n', "in.jsonl:2: not JSON"),
        ('{"prompt": "ok"}\n[1, 2]\n', "in.jsonl:2: each line must be a JSON object"),
        ('{"key": 7, "input": {}}\n', "in.jsonl:1: key must be a string"),
    ],
)
def test_a_malformed_line_is_reported_before_anything_is_created(
    tmp_path: Path, server: SandboxServer, text: str, message: str
) -> None:
    (tmp_path / "in.jsonl").write_text(text)
    finished = run_cli(server, command(tmp_path))
    assert finished.returncode == 2 and message in finished.stderr


@pytest.mark.parametrize("make", [lambda path: None, lambda path: path.mkdir()])
def test_an_inputs_file_that_cannot_be_read_is_a_usage_error(
    tmp_path: Path, server: SandboxServer, make: Callable[[Path], None]
) -> None:
    make(tmp_path / "in.jsonl")  # missing, or a folder
    finished = run_cli(server, command(tmp_path))
    assert finished.returncode == 2, finished.stderr
    assert finished.stderr.startswith(f"error: --inputs {tmp_path / 'in.jsonl'}: ")
    assert "Errno" not in finished.stderr and not server.sandbox.creates
    assert server.sandbox.requests == []


def test_a_file_where_the_journal_folder_should_be_is_named_plainly(
    tmp_path: Path, server: SandboxServer
) -> None:
    write_inputs(tmp_path / "in.jsonl", 1)
    (tmp_path / "file").write_text("not a folder")
    journal = tmp_path / "file" / "journal.sqlite"
    finished = run_cli(server, [*command(tmp_path), "--journal", str(journal)])
    assert finished.returncode == 4
    assert f"error: {tmp_path / 'file'}: " in finished.stderr and "Errno" not in finished.stderr


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--rate", "fast"),
        ("--shard", "3/3"),
        ("--shard", "1"),
        ("--concurrency", "0"),
        ("--concurrency", "many"),
        ("--timeout", "-1"),
        ("--timeout", "nan"),
    ],
)
def test_bad_flags_are_usage_errors(
    tmp_path: Path, server: SandboxServer, flag: str, value: str
) -> None:
    write_inputs(tmp_path / "in.jsonl", 1)
    finished = run_cli(server, [*command(tmp_path), flag, value])
    assert finished.returncode == 2 and flag in finished.stderr
    assert "Traceback" not in finished.stderr and server.sandbox.requests == []


def test_the_plain_progress_ends_with_one_line_for_the_final_counts() -> None:
    def summary(done: int) -> BatchSummary:
        counts = {BatchOutcome.SUCCEEDED: done}
        return BatchSummary(counts, in_flight=0, waiting=0, resumed=0, elapsed=1.0, per_minute=60)

    stream = StringIO()  # not a terminal: plain lines
    display = BatchDisplay(stream, 3)
    display.update(summary(3))  # the last item ends: a line
    display.update(summary(3), final=True)  # the same counts: no second line
    assert stream.getvalue().count("3/3 done") == 1
    display = BatchDisplay(stream, 3)
    display.update(summary(1))
    display.update(summary(3))  # within two seconds of the last line: not shown
    display.update(summary(3), final=True)  # so the final line shows it
    assert stream.getvalue().splitlines()[-1].startswith("3/3 done")
