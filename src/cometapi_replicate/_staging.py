"""Files that appear all at once, or not at all.

Each file of a download streams into a temporary file beside its destination (``Staged``);
``settle`` and ``commit_all`` put every one in place once all are complete, or none (a failure,
Ctrl-C or a cancelled task leaves the folder as it was). A batch's item goes further: its files
are saved into a staging folder, and ``publish_folder`` moves the whole folder into place.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

from ._outputs import Target

__all__ = [
    "Staged",
    "Staging",
    "Stopped",
    "commit_all",
    "discard_folder",
    "drop",
    "exists_error",
    "prepare",
    "publish_folder",
    "settle",
    "staging_folder",
    "stopped",
]


class Stopped(Exception):
    """Another file of the same download failed: this one stops too."""


def stopped(exc: BaseException) -> bool:
    asyncio = sys.modules.get("asyncio")  # not imported: nothing was cancelled by it either
    return isinstance(exc, Stopped) or (
        asyncio is not None and isinstance(exc, asyncio.CancelledError)
    )


def exists_error(path: Path) -> FileExistsError:
    return FileExistsError(errno.EEXIST, "exists (pass overwrite=True to replace it)", str(path))


def prepare(targets: Sequence[Target], overwrite: bool) -> None:
    """Create the folder, and refuse before any byte moves if a file is in the way."""
    folder = targets[0].destination.parent
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    for target in targets:
        if not overwrite and os.path.lexists(target.destination):
            raise exists_error(target.destination)


_writev = getattr(os, "writev", None)


def _iov_max() -> int:
    """Buffers one ``writev`` call takes: the system's limit (1024 on Linux and macOS), or the
    16 POSIX promises when the system does not say."""
    try:
        limit = os.sysconf("SC_IOV_MAX")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - no sysconf, no name
        return 16
    return limit if limit >= 16 else 16


_IOV_MAX = _iov_max()


class Staged:
    """A temporary file beside ``destination``, created with the process umask."""

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        prefix = f".{destination.name[:40]}."
        while True:
            path = destination.with_name(f"{prefix}{secrets.token_hex(4)}.part")
            try:
                fd = os.open(path, flags, 0o666)
                break
            except FileExistsError:  # pragma: no cover - 32 random bits
                continue
        self.path = path
        self.file: IO[bytes] = os.fdopen(fd, "wb")

    def restart(self) -> None:
        self.file.seek(0)
        self.file.truncate()

    def write(self, chunks: Iterable[bytes]) -> None:
        """Append ``chunks`` in one system call where the system has ``writev`` (elsewhere
        joined into one write): a writer thread handed a batch gives the GIL up and takes it
        back once, not once per chunk, and never holds it to copy the batch into one buffer
        while the event loop waits for it."""
        if _writev is None:  # pragma: no cover - Windows
            self.file.write(b"".join(chunks))
            return
        self.file.flush()  # the sync path writes through the buffer: nothing may stay in it
        fd = self.file.fileno()
        pending: list[bytes | memoryview] = [chunk for chunk in chunks if chunk]
        start = 0
        while start < len(pending):
            written = _writev(fd, pending[start : start + _IOV_MAX])
            if not written:
                raise OSError(errno.EIO, "the file took no bytes", str(self.path))
            while start < len(pending) and written >= len(pending[start]):
                written -= len(pending[start])
                start += 1
            if written:  # a short write (a disk filling up): the rest of that chunk next
                pending[start] = memoryview(pending[start])[written:]

    def commit(self, overwrite: bool) -> Path:
        """Put the file in place: replacing, or never over an existing file."""
        self.file.close()
        if overwrite:
            os.replace(self.path, self.destination)
            return self.destination
        try:
            _place_new(self.path, self.destination)
        except FileExistsError:
            raise exists_error(self.destination) from None
        return self.destination

    def discard(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


def _place_new(temporary: Path, destination: Path) -> None:
    """Rename without replacing: a hard link where the filesystem has them; elsewhere (FAT,
    exFAT, some network and FUSE filesystems) claim the name with an exclusive create, then
    rename over that empty claim."""
    link = getattr(os, "link", None)
    if link is not None:
        try:
            link(temporary, destination)
        except FileExistsError:
            raise
        except OSError:
            pass  # no hard links here: fall back below
        else:
            temporary.unlink()
            return
    os.close(os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    os.replace(temporary, destination)


def commit_all(staged: Sequence[Staged], overwrite: bool) -> list[Path]:
    """Put every file in place, or (one is in the way) none: undo those placed, drop the rest."""
    placed: list[Path] = []
    try:
        for item in staged:
            placed.append(item.commit(overwrite))
    except BaseException:
        for path in placed:
            path.unlink(missing_ok=True)
        for item in staged:
            item.discard()
        raise
    return placed


Staging = Staged | BaseException | None
"""What one file's worker ended with: its staged file, its failure, or nothing (cancelled)."""


def settle(stagings: Sequence[Staging]) -> list[Staged]:
    """All staged files, or raise the failure of the lowest index (dropping every file)."""
    failures = [o for o in stagings if isinstance(o, BaseException) and not stopped(o)]
    staged = [o for o in stagings if isinstance(o, Staged)]
    if failures or len(staged) != len(stagings):
        drop(stagings)
        raise failures[0] if failures else Stopped()
    return staged


def drop(stagings: Iterable[Staging]) -> None:
    for staging in stagings:
        if isinstance(staging, Staged):
            staging.discard()


def staging_folder(folder: Path) -> Path:
    """An empty folder to save files into (leftovers of a crash removed)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def publish_folder(staging: Path, final: Path) -> None:
    """Move a complete staging folder to ``final`` (replacing it): its files appear at once."""
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging, final)


def discard_folder(staging: Path) -> None:
    """Remove a staging folder and whatever a failure left in it."""
    shutil.rmtree(staging, ignore_errors=True)
