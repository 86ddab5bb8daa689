"""The README's first example runs, against a mock of the API and of the delivery host."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tools.generate import ROOT

from .conftest import BASE, KEY, json_response, prediction_body

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
CDN = "https://replicate.delivery/xezq/abc/out-0.webp"


def test_first_example_runs_and_saves_the_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text("utf-8"), re.S)
    assert example is not None
    code = example.group(1)
    assert 'client.run("black-forest-labs/flux-schnell"' in code and "download(" in code
    polls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            assert (
                request.url.raw_path
                == b"/replicate/v1/models/black-forest-labs/flux-schnell/predictions"
            )
            return json_response(prediction_body("starting"))
        if request.url.host == "replicate.delivery":
            assert "authorization" not in request.headers
            return httpx.Response(200, content=PNG)
        polls.append(request.url.path)
        status = "succeeded" if len(polls) > 1 else "processing"
        return json_response(
            prediction_body(status, output=[CDN] if status == "succeeded" else None)
        )

    monkeypatch.setenv("COMETAPI_KEY", KEY)
    monkeypatch.setenv("COMETAPI_BASE_URL", BASE)
    monkeypatch.chdir(tmp_path)
    code = code.replace("Client()", "Client(http_client=mock)")
    exec(
        compile(code, "README.md", "exec"),
        {"mock": httpx.Client(transport=httpx.MockTransport(handler))},
    )
    assert (tmp_path / "images" / "out-0.webp").read_bytes() == PNG
    assert "saved" in capsys.readouterr().out


def test_the_sandbox_pytest_example_passes(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text("utf-8"), re.S)
    (example,) = [b for b in blocks if "def test_pipeline_survives_a_flaky_api" in b]
    namespace: dict[str, object] = {}
    exec(compile(example, "README.md", "exec"), namespace)
    test = namespace["test_pipeline_survives_a_flaky_api"]
    assert callable(test)
    test(tmp_path)
    assert len(list(tmp_path.iterdir())) == 1
