"""``make publish``: upload ``dist/`` to a private package index with twine.

The index comes from the standard twine settings: ``TWINE_REPOSITORY_URL``,
``TWINE_USERNAME`` and ``TWINE_PASSWORD``, or ``TWINE_REPOSITORY`` naming a section of
``~/.pypirc`` (``TWINE_CONFIG_FILE`` to use another file). Refuses a dirty work tree and a
version that is already on the index. The password is never printed.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tools.generate import ROOT

PROJECT = "cometapi-replicate"


class PublishError(Exception):
    pass


@dataclass(frozen=True)
class Index:
    url: str
    username: str | None
    password: str | None = field(repr=False)

    def redact(self, text: str) -> str:
        return text.replace(self.password, "<redacted>") if self.password else text

    @property
    def shown(self) -> str:
        """The URL without any credentials in it, for messages."""
        return self.redact(re.sub(r"//[^/@]*@", "//", self.url))


def index_from_environment(env: dict[str, str]) -> Index:
    url = env.get("TWINE_REPOSITORY_URL")
    username, password = env.get("TWINE_USERNAME"), env.get("TWINE_PASSWORD")
    name = env.get("TWINE_REPOSITORY")
    if not url and name:
        config = configparser.ConfigParser()
        config.read(env.get("TWINE_CONFIG_FILE") or Path.home() / ".pypirc")
        if not config.has_section(name):
            raise PublishError(f"no [{name}] section in the .pypirc file")
        url = config.get(name, "repository", fallback=None)
        username = username or config.get(name, "username", fallback=None)
        password = password or config.get(name, "password", fallback=None)
    if not url:
        raise PublishError("no index: set TWINE_REPOSITORY_URL (or TWINE_REPOSITORY and a .pypirc)")
    return Index(url, username, password)


def check_clean(repo: Path) -> None:
    """Refuse to publish what is not committed: the release must be reproducible from git."""
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True
    )
    if status.returncode != 0:
        raise PublishError(f"cannot read the work tree's state: {status.stderr.strip()}")
    if status.stdout.strip():
        changed = ", ".join(line[3:] for line in status.stdout.splitlines()[:5])
        raise PublishError(f"the work tree has uncommitted changes ({changed}): commit them first")


def distributions(dist: Path) -> tuple[str, list[Path]]:
    """The version being published and its files."""
    files = sorted(dist.glob("cometapi_replicate-*"))
    wheels = [f for f in files if f.suffix == ".whl"]
    if not wheels:
        raise PublishError(f"no wheel in {dist}: run `make build`")
    versions = {wheel.name.split("-")[1] for wheel in wheels}
    if len(versions) != 1:
        raise PublishError(f"{dist} holds several versions ({', '.join(sorted(versions))})")
    return versions.pop(), files


def published_versions(index: Index) -> set[str] | None:
    """Versions on the index per its simple API, or ``None`` when it cannot say."""
    base = re.sub(r"/(legacy/?)?$", "", index.url.rstrip("/"))
    auth = (index.username or "", index.password or "") if index.username else None
    try:
        response = httpx.get(
            f"{base}/simple/{PROJECT}/", auth=auth, follow_redirects=True, timeout=30
        )
    except httpx.HTTPError:
        return None
    if response.status_code in (401, 403):
        raise PublishError(
            f"the index at {index.shown} refused the credentials of {index.username!r}"
        )
    if response.status_code == 404:
        return set()
    if not response.is_success:
        return None
    names = re.findall(r"cometapi[_-]replicate-([0-9][^\"'<>#]*?)(?:-py3|\.tar\.gz)", response.text)
    return set(names)


def publish(dist: Path, env: dict[str, str]) -> str:
    check_clean(ROOT)
    index = index_from_environment(env)
    version, files = distributions(dist)
    existing = published_versions(index)
    if existing is not None and version in existing:
        raise PublishError(
            f"{PROJECT} {version} is already on {index.shown}: bump the version first"
        )
    command = [
        sys.executable,
        "-m",
        "twine",
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
    ]
    command += ["--repository-url", index.url, *map(str, files)]
    upload_env = {
        **env,
        "TWINE_USERNAME": index.username or "",
        "TWINE_PASSWORD": index.password or "",
    }
    result = subprocess.run(command, env=upload_env, capture_output=True, text=True)
    output = index.redact(result.stdout + result.stderr)
    if result.returncode != 0:
        if "409" in output or "already exists" in output.lower():
            raise PublishError(f"{PROJECT} {version} is already on {index.shown}")
        if "401" in output or "403" in output:
            raise PublishError(
                f"the index at {index.shown} refused the credentials of {index.username!r}"
            )
        raise PublishError(f"twine upload failed:\n{output.strip()}")
    return f"published {PROJECT} {version} to {index.shown}"


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    dist = Path(args[0]) if args else ROOT / "dist"
    try:
        print(publish(dist, dict(os.environ)))
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
