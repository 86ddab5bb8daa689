"""Releases: the wheel's contents, and `make publish` to a real private index on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cometapi_replicate import Client, __version__
from cometapi_replicate.testing import Sandbox, SandboxServer
from tools.publish import PublishError, check_clean

from ..tree import make_in

USER, PASSWORD = "releaser", "s3cret-index-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from passlib.apache import HtpasswdFile

    root = tmp_path_factory.mktemp("index")
    packages = root / "packages"
    packages.mkdir()
    # A private index holds the dependencies too: installs below use it alone.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--dest",
            str(packages),
            "httpx",
            "attrs",
        ],
        check=True,
    )
    htpasswd = HtpasswdFile(str(root / "htpasswd"), new=True)
    htpasswd.set_password(USER, PASSWORD)
    htpasswd.save()
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "pypi-server"),
        "run",
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    command += ["-P", str(root / "htpasswd"), "-a", "update,download,list", str(packages)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def test_wheel_metadata_and_contents(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    info = f"cometapi_replicate-{__version__}.dist-info"
    assert f"{info}/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(wheel).read(f"{info}/METADATA").decode()
    for line in (
        "Name: cometapi-replicate",
        f"Version: {__version__}",
        "License-Expression: MIT",
        "Requires-Python: >=3.11",
    ):
        assert line in metadata
    requires = [
        line
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    assert sorted(r.split()[1].split(">")[0].split("<")[0] for r in requires) == ["attrs", "httpx"]
    assert (
        "cometapi-replicate = cometapi_replicate._cli.main:entry"
        in zipfile.ZipFile(wheel).read(f"{info}/entry_points.txt").decode()
    )
    top = {name.split("/")[0] for name in names}
    assert top == {
        "cometapi_replicate",
        "cometapi_replicate_api",
        "cometapi_replicate_models",
        info,
    }
    # the vendored models ship whole: input_type and the checks need them at run time
    assert "cometapi_replicate_models/black_forest_labs/flux_schnell/schema.py" in names
    assert not [
        n for n in names if "__pycache__" in n or n.endswith((".pyc", ".orig")) or "/tests/" in n
    ]


def test_a_dirty_work_tree_is_refused(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    check_clean(tmp_path)
    (tmp_path / "stray.txt").write_text("x")
    with pytest.raises(PublishError, match="uncommitted"):
        check_clean(tmp_path)


def test_publish_then_install_from_the_private_index_alone(
    index: str, release_tree: Path, tmp_path: Path
) -> None:
    """`make publish` is `make build` (done once for the session in ``release_tree``, a clean
    commit of the work tree as it is now) then ``tools.publish dist``, run here as it runs."""
    env = {
        **os.environ,
        "TWINE_REPOSITORY_URL": index,
        "TWINE_USERNAME": USER,
        "TWINE_PASSWORD": PASSWORD,
    }
    env.pop("TWINE_REPOSITORY", None)
    recipe = make_in(release_tree, "-n", "publish").stdout
    assert "-m build --outdir dist" in recipe and "-m tools.publish dist" in recipe
    publish = [sys.executable, "-m", "tools.publish", "dist"]
    first = subprocess.run(publish, cwd=release_tree, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"published cometapi-replicate {__version__}" in first.stdout
    assert PASSWORD not in first.stdout + first.stderr

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bindir = env_dir / "bin"
    simple = index.replace("http://", f"http://{USER}:{PASSWORD}@") + "/simple/"
    install = [str(bindir / "python"), "-m", "pip", "install", "--quiet", "--index-url", simple]
    subprocess.run([*install, f"cometapi-replicate=={__version__}"], check=True, cwd=tmp_path)
    version = subprocess.run(
        [str(bindir / "cometapi-replicate"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == f"cometapi-replicate {__version__}"
    with (
        SandboxServer(Sandbox(queue=0, run=0)) as server,
        Client(**server.sandbox.client_kwargs()) as client,
    ):
        prediction = client.predictions.create("o/m", {"prompt": "x"})
        run_env = {
            **os.environ,
            "COMETAPI_BASE_URL": server.base_url,
            "COMETAPI_KEY": server.sandbox.key,
        }
        got = subprocess.run(
            [str(bindir / "cometapi-replicate"), "get", prediction.id],
            env=run_env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
    assert got.returncode == 0, got.stderr
    assert f"id:      {prediction.id}" in got.stdout

    again = subprocess.run(publish, cwd=release_tree, env=env, capture_output=True, text=True)
    assert again.returncode != 0
    assert f"cometapi-replicate {__version__} is already on {index}" in again.stderr

    wrong = subprocess.run(
        publish,
        cwd=release_tree,
        env={**env, "TWINE_PASSWORD": "not-the-password"},
        capture_output=True,
        text=True,
    )
    assert wrong.returncode == 1
    assert "refused the credentials of 'releaser'" in wrong.stderr
    assert "not-the-password" not in wrong.stdout + wrong.stderr
