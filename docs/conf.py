"""Sphinx configuration of the documentation site (``make docs``; ``make docs-serve``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "generated")]

from sphinx.application import Sphinx  # noqa: E402
from sphinx.ext.napoleon import Config as NapoleonConfig  # noqa: E402
from sphinx.ext.napoleon.docstring import GoogleDocstring  # noqa: E402

from cometapi_replicate import __version__  # noqa: E402

project = "cometapi-replicate"
author = "cometapi-replicate developers"
copyright = "cometapi-replicate developers"  # noqa: A001
release = version = __version__

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
root_doc = "index"
# bench.md is written by `make bench`, which also puts its table into guides/performance.md.
exclude_patterns = ["_build", "bench.md"]

myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence"]

autodoc_typehints = "signature"
autodoc_member_order = "bysource"
autodoc_class_signature = "separated"
autodoc_default_options = {"members": True, "undoc-members": False}
autodoc_type_aliases = {
    "Inputs": "Inputs",
    "BatchKwargs": "BatchKwargs",
}
python_use_unqualified_type_names = True

# Every reference must resolve, except to libraries whose inventories a build without network
# cannot fetch: their names are shown as plain text.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(httpx|attrs|attr|asyncio|collections|contextlib|datetime|enum|io|os|pathlib"
     r"|types|typing|typing_extensions|sqlite3|builtins)(\..*)?"),
    (r"py:class", r"(Any|Path|Self|TracebackType|Mapping|Sequence|Iterator|AsyncIterator"
     r"|Iterable|AsyncIterable|Callable|Awaitable|Generator|AsyncGenerator)"),
    # Names in signatures that are not importable from the public surface: the batch's
    # keyword-argument TypedDict and input alias, the generated "absent" marker, the sandbox's
    # internal records.
    (r"py:class", r"(Inputs|BatchKwargs|cometapi_replicate_api\.types\.Unset"
     r"|cometapi_replicate\.testing\.sandbox\.\w+)"),
]



def _type_checking_names() -> None:
    """The SDK's modules import the generated types only for type checkers (at run time they
    load on first use); autodoc reads signatures at run time, so it gets them here, as mypy
    sees them."""
    import importlib
    import pkgutil

    import cometapi_replicate
    from cometapi_replicate_api import models, types

    names = {"Prediction": models.Prediction, "PredictionRequest": models.PredictionRequest,
             "Response": types.Response, "Unset": types.Unset}  # fmt: skip
    for info in pkgutil.walk_packages(cometapi_replicate.__path__, "cometapi_replicate."):
        if info.name.endswith("__main__") or info.name.startswith("cometapi_replicate._cli."):
            continue  # the command line: not documented here, and __main__ runs it
        module = importlib.import_module(info.name)
        for name, value in names.items():
            if name not in vars(module):
                setattr(module, name, value)


_type_checking_names()


def _generated_models(
    app: Sphinx, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    """The generated models' docstrings are Google style ("Attributes:"); the SDK's are not."""
    if what == "class" and getattr(obj, "__module__", "").startswith("cometapi_replicate_api"):
        lines[:] = GoogleDocstring(lines, NapoleonConfig(napoleon_use_ivar=True)).lines()


def setup(app: Sphinx) -> None:
    app.connect("autodoc-process-docstring", _generated_models)


html_theme = "furo"
html_title = f"cometapi-replicate {release}"
html_static_path: list[str] = []
