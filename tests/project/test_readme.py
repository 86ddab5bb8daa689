"""The README's first example runs, against a mock of the API and of the delivery host, and so
do the site's examples that users copy for downloads and for their own sandbox tests."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tools.generate import ROOT

from ..conftest import BASE, KEY, json_response, prediction_body
from ..documents import documents, python_block, python_blocks

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
CDN = "https://replicate.delivery/xezq/abc/out-0.webp"


def test_first_example_runs_and_saves_the_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = python_blocks((ROOT / "README.md").read_text("utf-8"))[0]
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
    assert (tmp_path / "images" / "pred1-0.webp").read_bytes() == PNG
    assert "saved" in capsys.readouterr().out


def test_the_sandbox_pytest_example_passes(tmp_path: Path) -> None:
    page, example = python_block("def test_pipeline_survives_a_flaky_api")
    namespace: dict[str, object] = {}
    exec(compile(example, page, "exec"), namespace)
    test = namespace["test_pipeline_survives_a_flaky_api"]
    assert callable(test)
    test(tmp_path)
    assert len(list(tmp_path.iterdir())) == 1


def delivery(output: object) -> httpx.MockTransport:
    """The API (one succeeded prediction with ``output``) and a delivery host serving PNG."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "replicate.delivery":
            assert "authorization" not in request.headers
            return httpx.Response(200, content=PNG)
        body = prediction_body("succeeded", output=output)
        return json_response({**body, "id": "q4chw5rey9rmt0cww76t4h3ma4"})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("output", [[CDN], "A fox, in words."])
def test_the_outputs_example_downloads_files_or_prints_the_output(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    output: object,
) -> None:
    page, code = python_block("if output_urls(p):")
    code = code.replace("Client()", "Client(http_client=mock)")
    monkeypatch.setenv("COMETAPI_KEY", KEY)
    monkeypatch.setenv("COMETAPI_BASE_URL", BASE)
    monkeypatch.chdir(tmp_path)
    mock = httpx.Client(transport=delivery(output))
    exec(compile(code, page, "exec"), {"mock": mock})
    saved = list((tmp_path / "out").iterdir()) if (tmp_path / "out").exists() else []
    if isinstance(output, list):
        assert [p.read_bytes() for p in saved] == [PNG]
    else:
        assert saved == [] and capsys.readouterr().out == "A fox, in words.\n"


def test_the_streaming_example_saves_and_hashes_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import hashlib

    page, code = python_block("async def checksum")
    code = code.replace("AsyncClient()", "AsyncClient(http_client=amock)")
    code = code.replace("with Client()", "with Client(http_client=mock)")
    monkeypatch.setenv("COMETAPI_KEY", KEY)
    monkeypatch.setenv("COMETAPI_BASE_URL", BASE)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {
        "mock": httpx.Client(transport=delivery([CDN])),
        "amock": httpx.AsyncClient(transport=delivery([CDN])),
    }
    exec(compile(code, page, "exec"), namespace)
    assert (tmp_path / "first.webp").read_bytes() == PNG
    checksum = namespace["checksum"]
    digest = asyncio.run(checksum("q4chw5rey9rmt0cww76t4h3ma4"))  # type: ignore[operator]
    assert digest == hashlib.sha256(PNG).hexdigest()


def test_the_project_needs_nothing_outside_its_tree() -> None:
    """A clone has only the project: every relative link of the README and of the site's
    pages leads to one of its files, and no file points at a folder beside it."""
    broken, linked = [], set()
    for name, text in documents().items():
        for link in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", link):
                continue
            target = ((ROOT / name).parent / link).resolve()
            linked.add(target)
            if not target.is_file():
                broken.append(f"{name}: {link}")
    assert broken == []
    assert ROOT / "docs" / "polling-workload.md" in linked
    outside = "../" + "shared"  # spelled apart, so that this file does not match itself
    files = [ROOT / name for name in ("README.md", "CHANGELOG.md", "Makefile", "pyproject.toml")]
    for folder in ("docs", "tools", "src", "tests"):
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md", ".toml")]
    assert [str(p) for p in files if outside in p.read_text("utf-8", "replace")] == []
