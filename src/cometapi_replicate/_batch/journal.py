"""The batch journal: one SQLite file (standard library ``sqlite3``, WAL) of item records.

Writes are staged and committed together: the driver commits before it sends the requests
decided with them, so an intent to create is in the file before the create leaves. SQLite's
write-ahead log makes each commit all-or-nothing, and a commit survives the process being
killed at any moment (``kill -9``). The file is locked for the whole run: a second batch on
the same journal is refused instead of creating the same predictions again.

Every failure is a :class:`JournalError` (its ``__cause__`` the ``sqlite3`` or ``OSError``
behind it): a file that is not a journal of this SDK is refused before anything is written to
it, and a read or a commit that fails (disk full, read-only, removed) says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Protocol

from .._errors import JournalError
from .records import Record, Stage

__all__ = ["Journal", "JournalError", "MemoryJournal", "SqliteJournal", "open_journal"]

SCHEMA = 1
_SQLITE_HEADER = b"SQLite format 3\x00"
_TABLES = {"meta", "items"}
_INDEXES = {"sqlite_autoindex_meta_1", "sqlite_autoindex_items_1"}  # of the primary keys
_IO_ERRORS = ("SQLITE_IOERR", "SQLITE_FULL", "SQLITE_READONLY", "SQLITE_CANTOPEN")
_COLUMNS = [
    "key",
    "input_hash",
    "stage",
    "creates",
    "prediction_id",
    "status",
    "output",
    "error",
    "files",
]


class Journal(Protocol):
    def lookup(self, key: str) -> Record | None:
        """What the journal knows of ``key``."""

    def save(self, record: Record) -> None:
        """Stage ``record`` (written at the next ``commit``)."""

    def commit(self) -> None:
        """Make every staged record durable."""

    def close(self) -> None: ...


class MemoryJournal:
    """No journal: nothing is kept, nothing can be resumed."""

    def lookup(self, key: str) -> Record | None:
        return None

    def save(self, record: Record) -> None:
        pass

    def commit(self) -> None:
        pass

    def close(self) -> None:
        pass


_SELECT = (
    "SELECT key, input_hash, stage, creates, prediction_id, status, output, error, files FROM items"
)
_UPSERT = (
    "INSERT OR REPLACE INTO items"
    " (key, input_hash, stage, creates, prediction_id, status, output, error, files)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class SqliteJournal:
    """A journal in the SQLite file ``path`` (created if missing), for batches of ``model``.

    A file this journal created and in which nothing was recorded is removed on close: a run
    refused before it began leaves nothing behind."""

    def __init__(self, path: str | os.PathLike[str], model: str) -> None:
        self.path = Path(path)
        self._staged: dict[str, Record] = {}
        self._unused = not self.path.exists()
        """Created by this open, and nothing recorded in it yet."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _check_header(self.path)
        except OSError as exc:
            where = exc.filename or self.path
            raise JournalError(
                f"{where}: {exc.strerror}; the journal {self.path} cannot be opened"
            ) from exc
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            self._discard()
            raise JournalError(f"cannot open the journal {self.path}: {exc}") from exc
        try:
            self._setup(model)
            self._identity = _identity(self.path)
        except (sqlite3.Error, OSError, JournalError) as exc:
            self._db.close()
            self._discard()
            if isinstance(exc, JournalError):
                raise
            if "locked" in str(exc):
                raise JournalError(
                    f"the journal {self.path} is in use by another batch (one run per journal)"
                ) from exc
            if getattr(exc, "sqlite_errorname", "").startswith(_IO_ERRORS) or not isinstance(
                exc, sqlite3.Error
            ):
                raise self._failed("could not be written", exc) from exc
            raise JournalError(f"{self.path} is not a usable journal: {exc}") from exc

    def _discard(self) -> None:
        """Remove the file if this open created it and nothing is recorded in it."""
        if self._unused:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _setup(self, model: str) -> None:
        db = self._db
        db.execute("PRAGMA busy_timeout = 0")
        # Held until close: a second process cannot read or write; a killed one releases it.
        db.execute("PRAGMA locking_mode = EXCLUSIVE")
        self._check_schema()  # before the first write: a foreign file is left as it was
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise JournalError(f"{self.path}: SQLite refused WAL mode ({mode})")
        db.execute("PRAGMA synchronous = FULL")
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, input_hash TEXT NOT NULL,"
                " stage TEXT NOT NULL, creates INTEGER NOT NULL, prediction_id TEXT, status TEXT,"
                " output TEXT, error TEXT, files TEXT NOT NULL)"
            )
            meta = dict(db.execute("SELECT name, value FROM meta").fetchall())
            if not meta:
                db.executemany(
                    "INSERT INTO meta VALUES (?, ?)", [("schema", str(SCHEMA)), ("model", model)]
                )
            elif meta.get("model") != model:
                raise JournalError(
                    f"{self.path} is the journal of a batch of {meta.get('model')}, not {model}"
                )
            db.execute("COMMIT")
        except BaseException:  # Ctrl-C included: the transaction is all or nothing
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _check_schema(self) -> None:
        """Refuse a database that is not a journal of this SDK, or of a newer format."""
        db = self._db
        objects = db.execute("SELECT type, name FROM sqlite_master").fetchall()
        if not objects:
            return
        tables = {name for kind, name in objects if kind == "table"}
        others = {name for kind, name in objects if kind != "table"} - _INDEXES
        columns = [row[1] for row in db.execute("PRAGMA table_info(items)")]
        if tables != _TABLES or others or columns != _COLUMNS:
            held = ", ".join(sorted(tables | others)) or "nothing"
            raise JournalError(
                f"{self.path} is not a journal of this SDK (it holds {held}); it was left as "
                "it is: give another path"
            )
        schema = dict(db.execute("SELECT name, value FROM meta").fetchall()).get("schema")
        if schema != str(SCHEMA):
            raise JournalError(
                f"{self.path} is a journal of format {schema}, and this version of the SDK "
                f"reads format {SCHEMA} (a newer SDK wrote it?); it was left as it is"
            )

    def lookup(self, key: str) -> Record | None:
        staged = self._staged.get(key)
        if staged is not None:
            return staged
        try:
            row = self._db.execute(_SELECT + " WHERE key = ?", (key,)).fetchone()
            return None if row is None else _record(row)
        except (sqlite3.Error, ValueError, TypeError) as exc:
            raise self._failed("could not be read", exc) from exc

    def _failed(self, what: str, exc: Exception) -> JournalError:
        name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
        return JournalError(f"the journal {self.path} {what}: {exc} ({name})")

    def save(self, record: Record) -> None:
        self._staged[record.key] = record

    def commit(self) -> None:
        if not self._staged:
            return
        rows = [_row(r) for r in self._staged.values()]
        db = self._db
        # BEGIN inside the try: a Ctrl-C that lands just after it must still roll back, or the
        # next commit (the one that records the batch's last answers) finds a transaction open.
        try:
            if _identity(self.path) != self._identity:  # SQLite would write on, unseen
                raise JournalError(
                    f"the journal {self.path} was removed or replaced while the batch ran; "
                    "nothing more is sent"
                )
            db.execute("BEGIN IMMEDIATE")
            self._unused = False  # from here on the file may hold a record: kept
            db.executemany(_UPSERT, rows)
            db.execute("COMMIT")
        except BaseException as exc:  # Ctrl-C included: the transaction is all or nothing
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled it back
                    db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._failed("could not record the batch", exc) from exc
            raise
        self._staged.clear()

    def records(self) -> list[Record]:
        """Every record, in key order (for inspection and tests)."""
        try:
            rows = self._db.execute(_SELECT + " ORDER BY key").fetchall()
            return [_record(row) for row in rows]
        except (sqlite3.Error, ValueError, TypeError) as exc:
            raise self._failed("could not be read", exc) from exc

    def close(self) -> None:
        """Commit what is staged and close the file (closed even when the commit fails)."""
        try:
            self.commit()
        finally:
            self._discard()  # while our lock still keeps any other run out
            try:
                self._db.close()
            except sqlite3.Error as exc:
                raise self._failed("could not be closed", exc) from exc

    def __enter__(self) -> SqliteJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _identity(path: Path) -> tuple[int, int] | None:
    """The file ``path`` names (device and inode), ``None`` when it is gone."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _check_header(path: Path) -> None:
    """``JournalError`` unless ``path`` is missing, empty or a SQLite database."""
    try:
        with path.open("rb") as file:
            head = file.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return
    if head and head != _SQLITE_HEADER:
        raise JournalError(
            f"{path} is not a journal of this SDK (not a SQLite database); it was left as it "
            "is: give another path"
        )


def _row(record: Record) -> tuple[Any, ...]:
    return (
        record.key,
        record.input_hash,
        record.stage.value,
        record.creates,
        record.prediction_id,
        record.status,
        json.dumps(record.output),
        record.error,
        json.dumps(list(record.files)),
    )


def _record(row: tuple[Any, ...]) -> Record:
    key, input_hash, stage, creates, prediction_id, status, output, error, files = row
    return Record(
        key=key,
        input_hash=input_hash,
        stage=Stage(stage),
        creates=int(creates),
        prediction_id=prediction_id,
        status=status,
        output=json.loads(output) if output else None,
        error=error,
        files=tuple(json.loads(files)),
    )


def open_journal(journal: str | os.PathLike[str] | None, model: str) -> Journal:
    """A SQLite journal at ``journal``, or none."""
    return MemoryJournal() if journal is None else SqliteJournal(journal, model)
