"""``inputs``, and ``run``/``create``/``batch`` reading ``-i`` by the model's schema, as users
run them: subprocesses against a sandbox on 127.0.0.1 that counts every request."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cometapi_replicate_models.black_forest_labs.flux_schnell.schema import SCHEMAS

from cometapi_replicate.testing import SANDBOX_KEY, Sandbox, SandboxServer

from .test_cli import served
from .test_e2e import cli

FLUX = "black-forest-labs/flux-schnell"
FAST = ["-i", "sandbox_queue=0", "-i", "sandbox_run=0"]


@pytest.fixture(scope="module")
def live() -> Iterator[SandboxServer]:
    """A sandbox whose flux-schnell has gained an input (``style``) the vendored document
    lacks, as the live model may have."""
    schemas: dict[str, Any] = copy.deepcopy(SCHEMAS)
    schemas["Input"]["properties"]["style"] = {"type": "string", "x-order": 99}
    with SandboxServer(Sandbox(queue=0, run=0, schemas={FLUX: schemas})) as running:
        yield running


@pytest.fixture
def live_env(live: SandboxServer, env: dict[str, str]) -> dict[str, str]:
    return {**env, "COMETAPI_BASE_URL": live.base_url, "COMETAPI_KEY": SANDBOX_KEY}


def requests(server: SandboxServer) -> int:
    return len(server.sandbox.requests)


def test_inputs_lists_each_input_in_the_model_order_with_its_choices(env: dict[str, str]) -> None:
    result = cli({k: v for k, v in env.items() if k != "COMETAPI_KEY"}, "inputs", FLUX)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    names = [line.split()[0] for line in lines if line and not line.startswith((" ", FLUX))]
    assert names[:3] == ["prompt", "aspect_ratio", "num_outputs"]
    at = lines.index('aspect_ratio  (string, default "1:1")')
    assert lines[at + 1].startswith('    one of: "1:1", "16:9", "21:9"')
    assert "num_outputs  (integer, default 1)" in lines and "    range: 1 to 4" in lines
    assert "prompt  (string, required)" in lines
    assert lines[-1] == "output: array of file"


def test_inputs_as_json(env: dict[str, str]) -> None:
    result = cli(env, "inputs", FLUX, "--json")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["aspect_ratio"]["choices"][:2] == ["1:1", "16:9"]
    assert rows["num_outputs"]["minimum"] == 1 and rows["num_outputs"]["maximum"] == 4
    assert '"maximum": 4,' in result.stdout  # the schema's integer, not 4.0
    assert rows["prompt"]["default"] is None and rows["prompt"]["required"] is True
    assert len({tuple(row) for row in rows.values()}) == 1  # every row has the same keys


def test_inputs_of_a_model_without_a_document_says_how_to_add_one(env: dict[str, str]) -> None:
    result = cli(env, "inputs", "someone/unvendored")
    assert result.returncode == 2 and result.stdout == ""
    assert "someone/unvendored has no vendored document" in result.stderr
    assert "make add-model SCHEMA=" in result.stderr and FLUX in result.stderr
    assert "editable install" in result.stderr and "then reinstall" not in result.stderr
    assert cli(env, "inputs", "no-slash").returncode == 2


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["-i", "aspect_ratio=16x9"], 'aspect_ratio: one of "1:1"'),
        (["-i", "num_outputs=5"], "num_outputs: an integer 1 to 4; not 5"),
        (["-i", "num_outputs=two"], 'num_outputs: an integer 1 to 4; not "two"'),
        (["-i", "aspectratio=1:1"], "aspectratio: unknown input; did you mean aspect_ratio?"),
        (["-i", "go_fast=perhaps"], "go_fast: a boolean"),
    ],
)
@pytest.mark.parametrize("command", ["run", "create"])
def test_a_bad_value_is_refused_with_exit_2_and_no_request(
    server: SandboxServer, env: dict[str, str], command: str, args: list[str], says: str
) -> None:
    before = requests(server)
    result = cli(env, command, FLUX, "-i", "prompt=a fox", *args)
    assert result.returncode == 2, result.stderr
    assert says in result.stderr and "nothing was sent" in result.stderr
    assert requests(server) == before


def test_values_are_read_by_the_field_type(env: dict[str, str]) -> None:
    result = cli(
        env,
        "create",
        FLUX,
        "-i", "prompt=42",
        "-i", "num_outputs=2",
        "-i", "go_fast=false",
        "-i", "aspect_ratio=16:9",
        "-i", "seed=7",
        "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    sent = json.loads(result.stdout)["input"]
    assert sent == {
        "prompt": "42",
        "num_outputs": 2,
        "go_fast": False,
        "aspect_ratio": "16:9",
        "seed": 7,
    }


def test_no_validate_reaches_the_api_which_refuses_what_the_model_refuses(
    server: SandboxServer, env: dict[str, str]
) -> None:
    before = requests(server)
    result = cli(env, "create", FLUX, "-i", "prompt=a", "-i", "style=ink", "--no-validate")
    assert result.returncode == 4
    assert "422: Input validation failed: input.style: unknown input" in result.stderr
    assert requests(server) == before + 1


def test_no_validate_is_the_escape_for_an_input_the_document_lacks(
    live: SandboxServer, live_env: dict[str, str]
) -> None:
    before = requests(live)
    refused = cli(live_env, "run", FLUX, "-i", "prompt=a", "-i", "style=ink", *FAST)
    assert refused.returncode == 2 and "style: unknown input" in refused.stderr
    assert requests(live) == before
    done = cli(live_env, "run", FLUX, "-i", "prompt=a", "-i", "style=ink", *FAST, "--no-validate")
    assert done.returncode == 0, done.stderr
    assert "status:  succeeded" in done.stdout


def test_a_batch_checks_every_line_before_the_first_create(
    live: SandboxServer, live_env: dict[str, str], tmp_path: Path
) -> None:
    lines = [
        {"prompt": "a"},
        {"prompt": "b", "num_outputs": 8},
        {"key": "c", "input": {"prompt": "c", "style": "ink"}},
    ]
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps(line) + "\n" for line in lines))
    before = requests(live)
    refused = cli(live_env, "batch", FLUX, "--inputs", str(inputs), "--out", str(tmp_path / "o"))
    assert refused.returncode == 2, refused.stderr
    assert "item 2: num_outputs: an integer 1 to 4; not 8" in refused.stderr
    assert "item c: style: unknown input" in refused.stderr
    assert requests(live) == before
    inputs.write_text("".join(json.dumps(line) + "\n" for line in lines[::2]))
    out = tmp_path / "out"
    done = cli(live_env, "batch", FLUX, "--inputs", str(inputs), "--out", str(out), "--no-validate")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["1", "c"]


def test_the_models_guide_shows_what_inputs_prints(env: dict[str, str]) -> None:
    page = (Path(__file__).parents[2] / "docs" / "guides" / "models.md").read_text("utf-8")
    block = page.split("<!-- inputs-output -->\n```console\n", 1)[1].split("```", 1)[0]
    command, *shown = block.splitlines()
    assert shown[-1] == "..."
    result = cli(env, *command.removeprefix("$ cometapi-replicate ").split())
    assert result.stdout.splitlines()[: len(shown) - 1] == shown[:-1]


def test_the_sandbox_command_checks_inputs_unless_told_not_to(env: dict[str, str]) -> None:
    base = {k: v for k, v in env.items() if k not in ("COMETAPI_BASE_URL", "COMETAPI_KEY")}
    for flags, code in (((), 4), (("--no-validate",), 0)):
        with served(base, *flags) as printed:
            pointed = {
                **base,
                "COMETAPI_BASE_URL": printed["base_url"],
                "COMETAPI_KEY": printed["key"],
            }
            result = cli(
                pointed, "create", FLUX, "-i", "prompt=a", "-i", "style=ink", "--no-validate"
            )
            assert result.returncode == code, result.stderr
            assert ("422: Input validation failed: input.style" in result.stderr) is (code == 4)


@pytest.mark.parametrize("value", ["1" * 400, "1" * 5000, "1e400"])
def test_a_number_too_large_for_json_is_exit_2_with_a_short_message(
    server: SandboxServer, env: dict[str, str], value: str
) -> None:
    before = requests(server)
    for field in ("seed", "num_outputs"):
        result = cli(env, "run", FLUX, "-i", "prompt=a", "-i", f"{field}={value}")
        assert result.returncode == 2, result.stderr
        assert f"{field}: an integer" in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr) < 400
    assert requests(server) == before


def test_a_batch_line_with_a_huge_number_is_exit_2_and_sends_nothing(
    server: SandboxServer, env: dict[str, str], tmp_path: Path
) -> None:
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"prompt": "a"}\n{"prompt": "b", "seed": ' + "9" * 400 + "}\n")
    before = requests(server)
    result = cli(env, "batch", FLUX, "--inputs", str(inputs), "--out", str(tmp_path / "o"))
    assert result.returncode == 2, result.stderr
    assert "item 2: seed: an integer" in result.stderr and "Traceback" not in result.stderr
    assert requests(server) == before


def test_every_unreadable_value_is_reported_in_the_documented_form(
    server: SandboxServer, env: dict[str, str]
) -> None:
    before = requests(server)
    result = cli(env, "run", FLUX, "-i", "prompt=a", "-i", "go_fast=maybe", "-i", "num_outputs=1.5")
    assert result.returncode == 2, result.stderr
    assert 'go_fast: a boolean; not "maybe"' in result.stderr
    assert 'num_outputs: an integer 1 to 4; not "1.5"' in result.stderr
    assert requests(server) == before


def test_a_scalar_input_given_twice_is_a_usage_error(
    server: SandboxServer, env: dict[str, str]
) -> None:
    before = requests(server)
    result = cli(env, "create", FLUX, "-i", "prompt=a", "-i", "prompt=b")
    assert result.returncode == 2 and "-i prompt is given twice" in result.stderr
    assert requests(server) == before


def test_null_leaves_an_optional_input_to_the_model_default(env: dict[str, str]) -> None:
    result = cli(env, "create", FLUX, "-i", "prompt=a", "-i", "seed=null", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["input"] == {"prompt": "a"}
