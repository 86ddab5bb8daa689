"""The live bar on a terminal (the ``cli`` extra: rich).

Redrawn ten times a second from what a :class:`Shown` source says at that moment, so the bar
and the ETA move between polls; drawing never makes a request.
"""

from __future__ import annotations

import os
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.text import Text

from .estimate import Shown, format_eta


class Source(Protocol):
    def shown(self) -> Shown: ...


class _Bar(BarColumn):
    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source

    def render(self, task: Task) -> ProgressBar:
        fraction = self.source.shown().fraction
        return ProgressBar(
            total=1.0,
            completed=fraction or 0.0,
            width=self.bar_width,
            pulse=fraction is None,
            animation_time=task.get_time(),
            style=self.style,
            complete_style=self.complete_style,
            finished_style=self.finished_style,
            pulse_style=self.pulse_style,
        )


class _TextColumn(ProgressColumn):
    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source


class _Percent(_TextColumn):
    def render(self, task: Task) -> Text:
        shown = self.source.shown()
        if shown.fraction is None:
            return Text("    ")
        return Text(f"{'~' if shown.estimated else ''}{shown.fraction:.0%}".rjust(4))


class _Eta(_TextColumn):
    def render(self, task: Task) -> Text:
        remaining = self.source.shown().remaining
        return Text("" if remaining is None else f"eta {format_eta(remaining)}")


def live_bar(stream: TextIO, source: Source) -> tuple[Progress, int]:
    """A started bar on ``stream`` and its task (fields ``description`` and ``step``)."""
    console = Console(file=stream, no_color=bool(os.environ.get("NO_COLOR")))
    bar = Progress(
        TextColumn("{task.description}"),
        _Bar(source),
        _Percent(source),
        TextColumn("{task.fields[step]}"),
        TimeElapsedColumn(),
        _Eta(source),
        console=console,
        transient=False,
    )
    bar.start()
    return bar, bar.add_task("starting", total=None, step="")
