"""The live bars on a terminal (the ``cli`` extra: rich): the only module that draws one.

A prediction's bar is redrawn ten times a second from what a :class:`Shown` source says at
that moment, so the bar and the ETA move between polls; drawing never makes a request. A
batch's bar shows its counts, as the batch command updates them.
"""

from __future__ import annotations

import os
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
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


def _console(stream: TextIO) -> Console:
    return Console(file=stream, no_color=bool(os.environ.get("NO_COLOR")))


def live_bar(stream: TextIO, source: Source) -> tuple[Progress, int]:
    """A started bar on ``stream`` and its task (fields ``description`` and ``step``)."""
    bar = Progress(
        TextColumn("{task.description}"),
        _Bar(source),
        _Percent(source),
        TextColumn("{task.fields[step]}"),
        TimeElapsedColumn(),
        _Eta(source),
        console=_console(stream),
        transient=False,
    )
    bar.start()
    return bar, bar.add_task("starting", total=None, step="")


def batch_bar(stream: TextIO, total: int) -> tuple[Progress, TaskID]:
    """A started batch bar on ``stream`` and its task (fields ``failed``, ``unknown``,
    ``flight`` and ``rate``)."""
    bar = Progress(
        TextColumn("batch"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "{task.fields[failed]} failed, {task.fields[unknown]} unknown, "
            "{task.fields[flight]} in flight"
        ),
        TextColumn("{task.fields[rate]:.0f}/min"),
        TimeRemainingColumn(),
        console=_console(stream),
    )
    bar.start()
    return bar, bar.add_task("batch", total=total, failed=0, unknown=0, flight=0, rate=0.0)
