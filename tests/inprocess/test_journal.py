"""The batch journal: durable commits, one run at a time, one model per file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cometapi_replicate._batch.journal import JournalError, SqliteJournal
from cometapi_replicate._batch.records import Record, Stage

MODEL = "owner/model"


def test_records_survive_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    saved = Record(
        "k1",
        "h",
        Stage.SAVED,
        creates=1,
        prediction_id="p1",
        status="succeeded",
        output={"text": "é", "files": ["u"]},
        files=("out/k1/a.png",),
    )
    with SqliteJournal(path, MODEL) as journal:
        journal.save(Record("k0", "h", Stage.CREATING, creates=1))
        journal.save(saved)
        journal.commit()
    with SqliteJournal(path, MODEL) as journal:
        assert journal.lookup("k1") == saved
        assert journal.lookup("k0") == Record("k0", "h", Stage.CREATING, creates=1)
        assert journal.lookup("missing") is None
        assert [r.key for r in journal.records()] == ["k0", "k1"]


def test_a_commit_survives_kill_9_and_an_uncommitted_write_is_not_half_there(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite"
    child = f"""
import os, signal
from cometapi_replicate._batch.scheduler import Record, Stage
from cometapi_replicate._batch.journal import SqliteJournal
journal = SqliteJournal({str(path)!r}, {MODEL!r})
for n in range(200):
    journal.save(Record(f"k{{n}}", "h", Stage.CREATED, creates=1, prediction_id=f"p{{n}}"))
journal.commit()
journal.save(Record("late", "h", Stage.CREATING, creates=1))
os.kill(os.getpid(), signal.SIGKILL)
"""
    process = subprocess.run([sys.executable, "-c", child], check=False, timeout=120)
    assert process.returncode == -9
    with SqliteJournal(path, MODEL) as journal:
        records = journal.records()
    assert len(records) == 200 and {r.prediction_id for r in records} == {
        f"p{n}" for n in range(200)
    }


def test_one_run_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    first = SqliteJournal(path, MODEL)
    with pytest.raises(JournalError, match="in use by another batch"):
        SqliteJournal(path, MODEL)
    first.close()
    SqliteJournal(path, MODEL).close()


def test_a_journal_belongs_to_one_model(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with SqliteJournal(path, MODEL) as journal:
        journal.save(Record("a", "digest"))
    with pytest.raises(JournalError, match="owner/model"):
        SqliteJournal(path, "owner/other")


def test_a_journal_created_and_left_empty_is_removed_an_existing_one_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite"
    SqliteJournal(path, MODEL).close()
    assert list(tmp_path.iterdir()) == [], "nothing recorded: nothing left behind"
    with SqliteJournal(path, MODEL) as journal:
        journal.save(Record("a", "digest"))
    SqliteJournal(path, MODEL).close()
    with SqliteJournal(path, MODEL) as journal:
        assert [r.key for r in journal.records()] == ["a"]


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database at all, just text " * 100)
    with pytest.raises(JournalError, match="not a SQLite database"):
        SqliteJournal(path, MODEL)
    assert path.read_text() == "not a database at all, just text " * 100


class _InterruptedAfterBegin:
    """A connection on which Ctrl-C lands just after ``BEGIN`` returns, once."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db, self.fired = db, False

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        cursor = self._db.execute(sql, *args)
        if sql.startswith("BEGIN") and not self.fired:
            self.fired = True
            raise KeyboardInterrupt
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def test_ctrl_c_just_after_begin_leaves_no_transaction_open(tmp_path: Path) -> None:
    """The batch commits its last answers after Ctrl-C: that commit must find the journal usable."""
    with SqliteJournal(tmp_path / "j.sqlite", MODEL) as journal:
        real = journal._db
        journal._db = _InterruptedAfterBegin(real)  # type: ignore[assignment]
        journal.save(Record("k0", "h", Stage.CREATING, creates=1))
        with pytest.raises(KeyboardInterrupt):
            journal.commit()
        assert not real.in_transaction
        journal.commit()  # the staged record is still staged, and now written
        journal._db = real
    with SqliteJournal(tmp_path / "j.sqlite", MODEL) as journal:
        assert journal.lookup("k0") == Record("k0", "h", Stage.CREATING, creates=1)
