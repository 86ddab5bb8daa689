"""The command line as users run it: a subprocess against the sandbox on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cometapi_replicate import Client
from cometapi_replicate.testing import SANDBOX_KEY, SandboxServer

from .test_e2e import CLI, cli, run_on_pty


@pytest.fixture(scope="module")
def pid(server: SandboxServer) -> str:
    """A prediction that has succeeded."""
    with Client(**server.sandbox.client_kwargs()) as client:
        return client.run("o/m", {"sandbox_queue": 0, "sandbox_run": 0}).id


@pytest.fixture(scope="module")
def long_pid(server: SandboxServer) -> str:
    """A prediction whose JSON (3,000 lines of logs) is more than a pipe holds."""
    with Client(**server.sandbox.client_kwargs()) as client:
        inputs = {"sandbox_queue": 0, "sandbox_run": 0.01, "sandbox_steps": 3000}
        return client.run("o/m", inputs).id


def gets(server: SandboxServer, prediction_id: str) -> int:
    return sum(1 for m, url in server.sandbox.requests if m == "GET" and prediction_id in url)


def test_the_bar_moves_between_polls_with_an_eta_and_no_extra_request(
    server: SandboxServer, env: dict[str, str]
) -> None:
    terminal = {**env, "COLUMNS": "120", "TERM": "xterm-256color"}
    command = "run o/m -i sandbox_run=4 -i sandbox_steps=4 --interval 1"
    code, screen = run_on_pty(terminal, *command.split())
    assert code == 0, screen
    # Polls can only confirm 0, 25, 50, 75 or 100%; anything else drawn is the estimate.
    estimated = {int(n) for n in re.findall(r"~(\d+)%", screen)}
    assert estimated - {0, 25, 50, 75, 100}, f"the bar only moved at polls:\n{screen}"
    assert re.search(r"eta ~\d+s", screen), "an ETA"
    assert "100%" in screen and "succeeded" in screen
    [pid] = set(re.findall(r"(\w{20,}) (?:starting|processing|succeeded)", screen))
    # 4.2 s at one poll a second: a display that polled for itself would make many more.
    assert gets(server, pid) <= 7


def test_run_polls_at_the_given_interval(server: SandboxServer, env: dict[str, str]) -> None:
    result = cli(env, "run", "o/m", "-i", "sandbox_run=2", "--interval", "1", "--json")
    assert result.returncode == 0, result.stderr
    # The adaptive schedule polls every 0.25 s this early; one a second is at most 2.2 s + 2.
    assert gets(server, json.loads(result.stdout)["id"]) <= 4
    too_fast = cli(env, "run", "o/m", "--interval", "0.1")
    assert too_fast.returncode == 2 and "at least 0.25" in too_fast.stderr


def test_a_closed_stdout_ends_quietly(env: dict[str, str], pid: str) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader has gone, as after `| head -1`
    try:
        result = subprocess.run(
            [*CLI, "get", pid, "--json"], env=env, stdout=write, stderr=subprocess.PIPE, text=True
        )
    finally:
        os.close(write)
    assert result.stderr == ""
    assert result.returncode == 141  # 128 + SIGPIPE, as a shell reports it


def test_json_piped_into_head(env: dict[str, str], long_pid: str) -> None:
    command = " ".join([*CLI, "get", long_pid, "--json"]) + " | head -1"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], env=env, capture_output=True, text=True
    )
    assert result.stdout == "{\n"
    assert result.stderr == ""
    assert result.returncode == 141, "head left before the end: stdout was closed early"


def test_the_sandbox_command_prints_the_url_and_key_that_reach_it(env: dict[str, str]) -> None:
    """As the README has users do: serve it, then point the command line at what it printed."""
    base = {k: v for k, v in env.items() if k not in ("COMETAPI_BASE_URL", "COMETAPI_KEY")}
    served = subprocess.Popen(
        [*CLI, "sandbox", "--port", "0", "--json"],
        env=base,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert served.stdout is not None
        printed = json.loads(served.stdout.readline())
        assert printed["base_url"].startswith("http://127.0.0.1:")
        pointed = {**base, "COMETAPI_BASE_URL": printed["base_url"], "COMETAPI_KEY": printed["key"]}
        result = cli(
            pointed, "run", "o/m", "-i", "sandbox_queue=0", "-i", "sandbox_run=0", "--json"
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["status"] == "succeeded"
        stats = f"{printed['base_url'].rstrip('/')}/sandbox/v1/stats"
        assert httpx.get(stats).status_code == 401, "the stats need the bearer key"
        counted = httpx.get(stats, headers={"Authorization": f"Bearer {printed['key']}"})
        assert counted.status_code == 200
        assert counted.json()["predictions"] == counted.json()["max_creates_per_input"] == 1
    finally:
        served.terminate()
        served.communicate(timeout=30)


def test_sandbox_without_its_extra_says_what_to_install(
    env: dict[str, str], tmp_path: Path
) -> None:
    fake = tmp_path / "uvicorn"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'uvicorn'\", name='uvicorn')\n"
    )
    result = cli({**env, "PYTHONPATH": str(tmp_path)}, "sandbox")
    assert result.returncode == 4
    assert "Traceback" not in result.stderr
    assert "pip install 'cometapi-replicate[sandbox]'" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--json", "--base-url", "{url}", "get", "{pid}"],
        ["get", "{pid}", "--base-url", "{url}", "--json"],
        ["--base-url", "{url}", "get", "--json", "{pid}"],
        ["--json", "get", "{pid}", "--base-url", "{url}/replicate/v1"],
        ["--json", "get", "{pid}", "--base-url", "{url}/replicate/"],
    ],
)
def test_global_options_before_or_after_the_command(
    server: SandboxServer, env: dict[str, str], pid: str, args: list[str]
) -> None:
    unreachable = {**env, "COMETAPI_BASE_URL": "http://127.0.0.1:9"}
    filled = [a.format(url=server.base_url, pid=pid) for a in args]
    result = cli(unreachable, *filled)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == pid


def test_a_base_url_written_as_in_the_api_docs_works(
    server: SandboxServer, env: dict[str, str], pid: str
) -> None:
    result = cli({**env, "COMETAPI_BASE_URL": f"{server.base_url}/replicate/v1/"}, "get", pid)
    assert result.returncode == 0, result.stderr


def test_quiet_before_the_command(env: dict[str, str]) -> None:
    result = cli(env, "-q", "run", "o/m", "-i", "sandbox_run=0")
    assert result.returncode == 0 and result.stderr == ""
    assert "status:  succeeded" in result.stdout


def test_a_missing_key_says_how_to_set_it(env: dict[str, str]) -> None:
    result = cli({k: v for k, v in env.items() if k != "COMETAPI_KEY"}, "get", "abc")
    assert result.returncode == 2
    assert result.stderr.startswith("error: no API key: export COMETAPI_KEY=...")
    assert "api_key=" not in result.stderr


def test_a_missing_input_file_is_a_usage_error_and_nothing_is_sent(
    server: SandboxServer, env: dict[str, str], tmp_path: Path
) -> None:
    before = len(server.sandbox.requests)
    missing = tmp_path / "missing.png"
    result = cli(env, "run", "o/m", "-i", f"image=@{missing}")
    assert result.returncode == 2
    assert result.stderr == f"error: -i image=@{missing}: No such file or directory\n"
    assert len(server.sandbox.requests) == before
    directory = cli(env, "run", "o/m", "-i", f"image=@{tmp_path}")
    assert directory.returncode == 2 and "Is a directory" in directory.stderr


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--timeout", "-1"), ("--timeout", "nan"), ("--interval", "0.1"), ("--interval", "soon")],
)
def test_a_bad_timeout_or_interval_is_a_usage_error_and_nothing_is_created(
    server: SandboxServer, env: dict[str, str], flag: str, value: str
) -> None:
    before = len(server.sandbox.requests)
    result = cli(env, "run", "o/m", flag, value)  # a create costs money: refused before it
    assert result.returncode == 2 and f"argument {flag}: " in result.stderr
    assert len(server.sandbox.requests) == before


@pytest.mark.parametrize(
    ("sig", "code", "word"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_a_signal_names_the_prediction_to_resume(
    env: dict[str, str], sig: signal.Signals, code: int, word: str
) -> None:
    # A suite started with SIGINT ignored (`trap "" INT`) would pass that on to the child, and
    # Python keeps an inherited SIG_IGN; a handler here is reset to the default at exec.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            [*CLI, "run", "o/m", "-i", "sandbox_run=60"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert process.stderr is not None
    first = process.stderr.readline()  # "<id>: starting [0s]": created, now waiting
    prediction_id = first.split(":")[0]
    process.send_signal(sig)
    _, err = process.communicate(timeout=30)
    assert process.returncode == code
    assert "Traceback" not in err
    assert err.splitlines()[-1] == f"{word}; resume with: cometapi-replicate wait {prediction_id}"


def test_a_timeout_still_prints_the_last_state(env: dict[str, str]) -> None:
    result = cli(env, "run", "o/m", "-i", "sandbox_run=60", "--timeout", "1.5", "--json")
    assert result.returncode == 3
    last = json.loads(result.stdout)
    assert last["status"] in ("starting", "processing")
    assert f"prediction {last['id']} still" in result.stderr
    plain = cli(env, "run", "o/m", "-i", "sandbox_run=60", "--timeout", "0.5")
    assert plain.returncode == 3 and "status:  " in plain.stdout


@pytest.mark.parametrize(
    ("command", "explained"),
    [
        ("get", "the prediction's id"),
        ("create", "owner/name"),
        ("wait", "poll every S seconds"),
        ("run", "owner/name"),
        ("download", "where to save the files"),
        ("sandbox", "0 picks a free port"),
        ("batch", "only the items whose key hashes to I"),
    ],
)
def test_each_command_has_help_with_examples(
    env: dict[str, str], command: str, explained: str
) -> None:
    result = cli(env, command, "--help")
    assert result.returncode == 0
    examples = result.stdout.split("examples:\n", 1)[1]
    assert f"cometapi-replicate {command} " in examples
    assert explained in result.stdout
    assert "global options (before or after the command)" in result.stdout


def test_cometapi_log_shows_the_sdk_log_lines_without_the_key(env: dict[str, str]) -> None:
    debug = cli({**env, "COMETAPI_LOG": "debug"}, "run", "o/m", "-i", "sandbox_run=0.3")
    assert debug.returncode == 0
    assert re.search(r"cometapi_replicate DEBUG\] created prediction \w+ of o/m", debug.stderr)
    assert "next poll in" in debug.stderr
    assert SANDBOX_KEY not in debug.stderr + debug.stdout
    info = cli({**env, "COMETAPI_LOG": "info"}, "run", "o/m", "-i", "sandbox_run=0.3")
    quiet = cli(env, "run", "o/m", "-i", "sandbox_run=0.3")
    assert info.returncode == quiet.returncode == 0
    assert "DEBUG" not in info.stderr + quiet.stderr


def test_the_docs_and_help_list_every_exit_code(env: dict[str, str]) -> None:
    from cometapi_replicate._cli import common as module

    from ..documents import containing

    codes = {v for k, v in vars(module).items() if k.startswith("EXIT_") and isinstance(v, int)}
    _, page = containing("| exit code | meaning |")
    table = page.split("| exit code | meaning |", 1)[1].split("\n\n", 1)[0]
    assert {int(n) for n in re.findall(r"^\| (\d+) \|", table, re.M)} == codes
    top_help = cli(env, "--help").stdout.split("exit codes:", 1)[1]
    assert {int(n) for n in re.findall(r"\b(\d{1,3})\b", top_help)} == codes


HIDE, SHOW = "\x1b[?25l", "\x1b[?25h"


@pytest.mark.parametrize("command", ["get", "download"])
def test_get_and_download_on_a_terminal_draw_no_bar_and_keep_the_cursor(
    env: dict[str, str], pid: str, tmp_path: Path, command: str
) -> None:
    terminal = {**env, "COLUMNS": "100", "TERM": "xterm-256color"}
    code, screen = run_on_pty(terminal, command, pid, *([str(tmp_path)] * (command == "download")))
    assert code == 0, screen
    assert HIDE not in screen, "the cursor was hidden"
    assert "━" not in screen and "starting" not in screen, f"a progress bar:\n{screen!r}"


@pytest.mark.parametrize(
    "args", [["wait", "{pid}"], ["run", "o/m", "-i", "sandbox_run=60", "--timeout", "0.5"]]
)
def test_a_wait_on_a_terminal_shows_the_cursor_again_however_it_ends(
    env: dict[str, str], pid: str, args: list[str]
) -> None:
    terminal = {**env, "COLUMNS": "100", "TERM": "xterm-256color"}
    code, screen = run_on_pty(terminal, *(a.format(pid=pid) for a in args))
    assert code == (0 if args[0] == "wait" else 3), screen
    assert HIDE in screen, "the bar was drawn"
    assert screen.rfind(SHOW) > screen.rfind(HIDE), f"the cursor stays hidden:\n{screen!r}"


def test_the_sandbox_on_a_port_in_use_says_so_and_exits(
    env: dict[str, str], held_port: int
) -> None:
    result = cli(env, "sandbox", "--port", str(held_port))
    assert result.returncode == 4 and result.stdout == ""
    assert result.stderr == (
        f"error: cannot serve on 127.0.0.1:{held_port}: "
        "in use by another program; --port 0 picks a free one\n"
    )


@pytest.mark.parametrize("port", ["99999", "-1", "eighty"])
def test_the_sandbox_on_an_impossible_port_is_a_usage_error(env: dict[str, str], port: str) -> None:
    result = cli(env, "sandbox", "--port", port)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"argument --port: a port from 0 to 65535, not '{port}'" in result.stderr


@contextlib.contextmanager
def served(env: dict[str, str], *args: str) -> Iterator[dict[str, str]]:
    """``cometapi-replicate sandbox --json ARGS`` running; what it printed."""
    process = subprocess.Popen(
        [*CLI, "sandbox", "--port", "0", "--json", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield json.loads(process.stdout.readline())
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_the_sandbox_command_injects_faults_and_knows_its_models(env: dict[str, str]) -> None:
    base = {k: v for k, v in env.items() if k not in ("COMETAPI_BASE_URL", "COMETAPI_KEY")}
    with served(base, "--models", "o/m,o/n", "--fault", "server_error:503*2@get") as printed:
        url, auth = printed["base_url"], {"Authorization": f"Bearer {printed['key']}"}
        pointed = {**base, "COMETAPI_BASE_URL": url, "COMETAPI_KEY": printed["key"]}
        unknown = cli(pointed, "run", "x/y", "-i", "prompt=a")
        assert unknown.returncode == 4 and "404: Model x/y not found" in unknown.stderr
        made = cli(pointed, "create", "o/m", "-i", "sandbox_queue=0", "-i", "sandbox_run=0")
        assert made.returncode == 0, made.stderr
        prediction = f"{url}/replicate/v1/predictions/{made.stdout.strip()}"
        answers = [httpx.get(prediction, headers=auth).status_code for _ in range(3)]
        assert answers == [503, 503, 200], "the next two GETs failed, by the command line"

        faults = f"{url}/sandbox/v1/faults"
        refused = httpx.post(faults, json={"fault": "rate_limit:1*2@create"})
        assert refused.status_code == 401, "the admin route needs the key"
        for wrong in ({"fault": "melt"}, {"faults": "drop"}, [1]):
            assert httpx.post(faults, json=wrong, headers=auth).status_code == 400
        added = httpx.post(faults, json={"fault": "rate_limit:1*2@create"}, headers=auth)
        assert added.json() == {"pending": 2}
        create = f"{url}/replicate/v1/models/o/n/predictions"
        limited = httpx.post(create, json={"input": {}}, headers=auth)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
        assert httpx.delete(faults, headers=auth).json() == {"pending": 0}
        assert httpx.post(create, json={"input": {}}, headers=auth).status_code == 200

        stats = [httpx.get(f"{url}/sandbox/v1/stats", headers=auth).json() for _ in range(2)]
        assert stats[0] == stats[1], "the stats route does not count itself"
        assert stats[0]["requests"] == {"create": 4, "get": 3}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "melt"], "argument --fault: a fault is KIND[:ARG][*TIMES][@ON]"),
        (["--fault", "slow"], "not 'slow'"),
        (["--fault", "drop*0"], "TIMES at least 1"),
        (["--fault", "drop@post"], "ON one of create, get, file, any"),
        (["--models", "o/m,nomodel"], "argument --models: a model is 'owner/name'"),
    ],
)
def test_a_bad_fault_or_model_list_is_a_usage_error(
    env: dict[str, str], args: list[str], message: str
) -> None:
    result = cli(env, "sandbox", *args)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_create_prints_the_id_that_wait_and_download_take(
    server: SandboxServer, env: dict[str, str], tmp_path: Path
) -> None:
    made = cli(env, "create", "o/m", "-i", "sandbox_run=0.3", "-i", "num_outputs=2")
    assert made.returncode == 0 and made.stderr == "", made.stderr
    prediction_id = made.stdout.strip()
    assert made.stdout == f"{prediction_id}\n" and gets(server, prediction_id) == 0
    waited = cli(env, "wait", prediction_id, "--download", str(tmp_path), "--json")
    assert waited.returncode == 0, waited.stderr
    assert len(json.loads(waited.stdout)["files"]) == 2
    as_json = cli(env, "create", "o/m", "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["status"] == "starting"
    bad = cli(env, "create", "o/m", "-i", "novalue")
    assert bad.returncode == 2 and "-i takes key=value" in bad.stderr


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("abc", "a number of seconds, not 'abc'"),
        ("nan", "a finite number of seconds, not 'nan'"),
        ("-1", "at least 0 seconds, not '-1'"),
    ],
)
def test_a_timeout_that_is_not_a_number_is_called_so(
    env: dict[str, str], value: str, said: str
) -> None:
    result = cli(env, "wait", "abc123", "--timeout", value)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].endswith(f"argument --timeout: {said}")


def test_the_top_level_help_fits_80_columns_with_whole_exit_code_lines(
    env: dict[str, str],
) -> None:
    shown = cli({**env, "COLUMNS": "80"}, "--help").stdout
    assert [line for line in shown.splitlines() if len(line) > 79] == []
    [line] = [line for line in shown.splitlines() if "130, 143" in line]
    assert line.endswith("interrupted (Ctrl-C, SIGTERM): prints the command that resumes")
    assert "create a prediction and print its id" in shown
