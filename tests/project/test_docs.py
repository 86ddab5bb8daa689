"""The documentation site builds strictly from the repository, as `make docs` builds it, and the
built HTML holds together: every page reachable from the navigation, every internal link and
anchor resolves, every public name has a reference entry, and the search index exists."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

import cometapi_replicate
import cometapi_replicate.testing
from tools.generate import ROOT

# Pages Sphinx writes by itself, not from a source page.
GENERATED_PAGES = {"genindex.html", "search.html", "py-modindex.html"}


class Page(HTMLParser):
    """The links and the anchors (``id`` and ``name`` attributes) of one HTML page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.anchors: set[str] = set()
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name") if tag != "meta" else ():
            if values.get(key):
                self.anchors.add(str(values[key]))
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    strict = ["-W", "--keep-going", "-n", "-q"]  # as `make docs`: a warning fails the build
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", *strict, "-b", "html", "docs", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert not result.stderr.strip(), f"the build warned:\n{result.stderr[-4000:]}"
    return out


def pages(site: Path) -> dict[Path, Page]:
    return {
        path: Page(path.read_text("utf-8"))
        for path in site.rglob("*.html")
        if not path.relative_to(site).parts[0].startswith("_")
    }


def internal(page: Path, href: str, site: Path) -> tuple[Path, str] | None:
    """The file and anchor an internal link points at; ``None`` for an external link."""
    if urlsplit(href).scheme or href.startswith(("//", "mailto:")):
        return None
    target, anchor = urldefrag(href)
    path = (page.parent / unquote(target)).resolve() if target else page
    if path.is_dir():
        path = path / "index.html"
    return path, unquote(anchor)


def test_every_internal_link_and_anchor_resolves(site: Path) -> None:
    built = pages(site)
    broken = []
    for page, parsed in built.items():
        for href in parsed.links:
            found = internal(page, href, site)
            if found is None:
                continue
            path, anchor = found
            if not path.exists():
                broken.append(f"{page.relative_to(site)}: {href} (no such file)")
            elif anchor and path.suffix == ".html" and anchor not in built[path].anchors:
                broken.append(f"{page.relative_to(site)}: {href} (no such anchor)")
    assert not broken, "\n".join(broken)


def test_every_page_is_reachable_from_the_navigation(site: Path) -> None:
    built = pages(site)
    seen, todo = set(), [site / "index.html"]
    while todo:
        page = todo.pop()
        if page in seen or page not in built:
            continue
        seen.add(page)
        for href in built[page].links:
            found = internal(page, href, site)
            if found is not None and found[0].suffix == ".html":
                todo.append(found[0])
    unreachable = {
        str(p.relative_to(site)) for p in built if p not in seen and p.name not in GENERATED_PAGES
    }
    assert not unreachable, f"pages no link leads to: {sorted(unreachable)}"
    assert len(seen) >= 4, "the navigation links the guides and the reference"


def test_every_public_name_has_a_reference_entry(site: Path) -> None:
    anchors = pages(site)[site / "reference.html"].anchors
    public = [f"cometapi_replicate.{name}" for name in cometapi_replicate.__all__] + [
        f"cometapi_replicate.testing.{name}" for name in cometapi_replicate.testing.__all__
    ]
    missing = [name for name in public if name not in anchors]
    assert not missing, f"public names without a reference entry: {missing}"


def test_the_search_index_exists_and_knows_the_client(site: Path) -> None:
    index = (site / "searchindex.js").read_text("utf-8")
    assert "Client" in index and "getting-started" in index
