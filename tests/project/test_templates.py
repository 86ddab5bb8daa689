"""Template patches on the pinned generator's own templates, and `make bump-generator`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools import bump_generator
from tools.generate import ROOT, GenerateError, generate
from tools.templates import (
    PATCHES,
    TemplatePatchError,
    apply_hunks,
    parse,
    patched_templates,
    stock_templates,
)

from ..tree import copy_tree, make_in


def test_each_patch_says_why_and_applies_to_the_pinned_generator(tmp_path: Path) -> None:
    patches = sorted(PATCHES.glob("*.patch"))
    assert [p.name for p in patches] == [
        "client-repr-hides-token.patch",
        "enum-document-order.patch",
        "model-optional-is-none.patch",
        "status-code-int.patch",
    ]
    assert not [p for p in PATCHES.iterdir() if p.suffix != ".patch"], "no whole copies"
    for patch in patches:
        assert "Why:" in patch.read_text("utf-8").split("diff --git")[0], patch.name
    patched_templates(tmp_path)
    for patch in patches:
        for name in parse(patch):
            assert (tmp_path / name).read_text() != (stock_templates() / name).read_text()


def test_a_hunk_applies_where_its_lines_moved_to() -> None:
    (hunks,) = parse(PATCHES / "client-repr-hides-token.patch").values()
    stock = (stock_templates() / "client.py.jinja").read_text("utf-8")
    shifted = "{# three\n   new\n   lines #}\n" + stock
    assert (
        apply_hunks(shifted, hunks, "x").splitlines()[3:]
        == apply_hunks(stock, hunks, "x").splitlines()
    )


@pytest.fixture
def changed_stock(tmp_path: Path) -> Path:
    """The generator's templates as a future version might have them: one patched line moved."""
    stock = tmp_path / "stock"
    shutil.copytree(stock_templates(), stock)
    module = stock / "endpoint_module.py.jinja"
    text = module.read_text("utf-8")
    assert "status_code=HTTPStatus(response.status_code)," in text
    module.write_text(
        text.replace("HTTPStatus(response.status_code)", "HTTPStatus(response.status)")
    )
    return stock


def test_a_hunk_that_no_longer_applies_fails_by_patch_template_and_hunk(
    tmp_path: Path, changed_stock: Path
) -> None:
    with pytest.raises(TemplatePatchError) as caught:
        patched_templates(tmp_path / "out", stock=changed_stock)
    message = str(caught.value)
    assert message.startswith("status-code-int.patch on endpoint_module.py.jinja: hunk #2")
    assert "no longer applies" in message


def test_generation_stops_on_a_patch_that_no_longer_applies(
    tmp_path: Path, changed_stock: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tools.templates.stock_templates", lambda: changed_stock)
    with pytest.raises(GenerateError, match=r"openapi/templates/status-code-int\.patch .*hunk #2"):
        generate(tmp_path / "pkg")
    assert not (tmp_path / "pkg").exists()


def test_the_pin_moves_and_nothing_else() -> None:
    text = (ROOT / "pyproject.toml").read_text("utf-8")
    old = bump_generator.current_pin(text)
    moved = bump_generator.move_pin(text, "9.8.7")
    assert bump_generator.current_pin(moved) == "9.8.7"
    assert moved.replace("9.8.7", old) == text
    with pytest.raises(bump_generator.BumpError, match="one openapi-python-client"):
        bump_generator.current_pin("no pin here")


def test_the_generator_range_notes() -> None:
    ours = '"httpx>=0.23.1,<0.29.0",\n"attrs>=22.2.0",'
    theirs = '"httpx>=0.23.1,<0.30.0",\n"attrs>=22.2.0",'
    assert bump_generator.range_notes(ours, ours) == []
    [note] = bump_generator.range_notes(ours, theirs)
    assert "httpx>=0.23.1,<0.30.0" in note and "httpx>=0.23.1,<0.29.0" in note


def test_make_bump_generator(tmp_path: Path) -> None:
    """To the pinned version (installed already, so nothing is fetched): generated/ unchanged."""
    tree = copy_tree(tmp_path / "repo")
    pyproject = (tree / "pyproject.toml").read_text("utf-8")
    pinned = bump_generator.current_pin(pyproject)
    result = make_in(tree, "bump-generator", "VERSION=not-a-version")
    assert result.returncode != 0 and "VERSION must look like 1.2.3" in result.stderr
    result = make_in(tree, "bump-generator")
    assert result.returncode == 2 and "usage: make bump-generator VERSION=x.y.z" in result.stdout
    result = make_in(tree, "bump-generator", f"VERSION={pinned}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"openapi-python-client {pinned} -> {pinned}" in result.stdout
    assert "generated/cometapi_replicate_api is unchanged" in result.stdout
    assert "generated/cometapi_replicate_models is unchanged" in result.stdout
    assert (tree / "pyproject.toml").read_text("utf-8") == pyproject
