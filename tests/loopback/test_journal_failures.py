"""The journal and the files of a batch when the disk fails them, over real loopback sockets.

A file that is not this SDK's journal is refused before anything is created or written; a
process whose files are cut at 64 KiB (``RLIMIT_FSIZE``) stops with a ``JournalError`` or
records what it could not save; a resume with room finishes the batch, creating nothing twice.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cometapi_replicate import AsyncClient, BatchOutcome, Client, JournalError
from cometapi_replicate._batch.journal import SqliteJournal
from cometapi_replicate._batch.records import Record, Stage
from cometapi_replicate._batch.runner import PARTIAL
from cometapi_replicate.testing import SANDBOX_KEY, Sandbox, SandboxServer

MODEL = "acme/painter"
CAP = 64 * 1024


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(Sandbox(queue=0.02, run=0.05, steps=3), host="127.0.0.1") as running:
        yield running


def run_batch(
    server: SandboxServer, work: list[Any], kind: str = "sync", **options: Any
) -> list[Any]:
    kwargs: dict[str, Any] = {"base_url": server.base_url, "api_key": SANDBOX_KEY}
    if kind == "sync":
        with Client(**kwargs) as client:
            return list(client.batch(MODEL, work, rate=None, **options))

    async def main() -> list[Any]:
        async with AsyncClient(**kwargs) as client:
            return [result async for result in client.batch(MODEL, work, rate=None, **options)]

    return asyncio.run(main())


def foreign_database(path: Path) -> None:
    with sqlite3.connect(path) as db:  # another application's: a table named like ours
        db.execute("CREATE TABLE items (key TEXT PRIMARY KEY, price REAL)")
        db.execute("INSERT INTO items VALUES ('boat', 12.5)")
    db.close()


def view_only_database(path: Path) -> None:
    with sqlite3.connect(path) as db:  # no table, yet not empty: another application's
        db.execute("CREATE VIEW answer AS SELECT 42")
    db.close()


def newer_journal(path: Path) -> None:
    with SqliteJournal(path, MODEL) as journal:  # one record: an unused journal is removed
        journal.save(Record("k0", "h"))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '2' WHERE name = 'schema'")
    db.close()


@pytest.mark.parametrize(
    ("what", "make", "match"),
    [
        ("another application's database", foreign_database, "not a journal of this SDK"),
        ("garbage", lambda p: p.write_bytes(os.urandom(3000)), "not a SQLite database"),
        ("a newer format", newer_journal, "format 2"),
        ("a database of views only", view_only_database, "not a journal of this SDK"),
    ],
)
def test_a_file_that_is_not_a_journal_is_refused_untouched_before_any_create(
    server: SandboxServer, tmp_path: Path, what: str, make: Any, match: str
) -> None:
    path = tmp_path / "journal.sqlite"
    make(path)
    before = path.read_bytes()
    with pytest.raises(JournalError, match=match) as caught:
        run_batch(server, [{"prompt": "a boat"}], journal=path)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before, what
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.sqlite"]  # no -wal, no -shm
    assert server.sandbox.stats()["predictions"] == 0


class _DiskFull:
    """A connection whose next write fails as on a full disk."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def executemany(self, *args: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


def test_a_failed_commit_stops_the_batch_after_recording_the_creates_already_sent(
    kind: str, server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = SqliteJournal.commit
    failed: list[bool] = []

    def commit(journal: SqliteJournal) -> None:  # the first id to record meets a full disk
        staged = journal._staged.values()
        if failed or not any(r.stage is Stage.CREATED for r in staged):
            return real(journal)
        failed.append(True)
        db, journal._db = journal._db, _DiskFull(journal._db)  # type: ignore[assignment]
        try:
            real(journal)
        finally:
            journal._db = db

    monkeypatch.setattr(SqliteJournal, "commit", commit)
    sandbox, journal = server.sandbox, tmp_path / "journal.sqlite"
    work = [(f"k{n}", {"prompt": f"item {n}"}) for n in range(8)]
    with pytest.raises(JournalError, match="disk is full") as caught:
        run_batch(server, work, kind, journal=journal, concurrency=4)
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    sent = sandbox.stats()["predictions"]
    with SqliteJournal(journal, MODEL) as reopened:  # every create sent has its id recorded
        recorded = [r for r in reopened.records() if r.creates]
    assert len(recorded) == sent > 0 and all(r.prediction_id for r in recorded)
    monkeypatch.undo()
    results = run_batch(server, work, kind, journal=journal)
    assert [r.outcome for r in results] == [BatchOutcome.SUCCEEDED] * len(work)
    assert {sandbox.creates[Sandbox.input_key(value)] for _, value in work} == {1}


# A user's program, in a process whose files cannot grow past 64 KiB: writes past it fail
# with EFBIG (SIGXFSZ ignored), as on a full disk. It reports what escaped the batch.
CAPPED = """
import json, os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, ({cap}, {cap}))
from cometapi_replicate import Client
base_url, key, journal, out, work = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
report = {{"results": [], "escaped": None, "download": None}}
try:
    with Client(base_url=base_url, api_key=key) as client:
        big = client.run({model!r}, {{"prompt": "one big file", "sandbox_output_bytes": {size}}})
        try:
            client.predictions.download(big, out + "-single")
        except OSError as exc:
            report["download"] = [exc.errno, os.listdir(out + "-single")]
        batch = client.batch({model!r}, json.loads(work), journal=journal, download=out,
                             concurrency=1, rate=None)
        for result in batch:
            report["results"].append([result.key, result.outcome.value, result.error])
except BaseException as exc:
    report["escaped"] = [type(exc).__module__, type(exc).__name__, str(exc)]
print(json.dumps(report))
"""


def files_under(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def test_a_full_disk_stops_the_batch_typed_and_a_resume_with_room_creates_nothing_twice(
    server: SandboxServer, tmp_path: Path
) -> None:
    sandbox, journal, out = server.sandbox, tmp_path / "journal.sqlite", tmp_path / "out"
    # Every third item's file is larger than the cap; the journal outgrows it as it goes.
    work = [
        (f"k{n:02d}", {"prompt": f"item {n}", "sandbox_output_bytes": 3 * CAP if n % 3 == 0 else 0})
        for n in range(24)
    ]
    program = CAPPED.format(cap=CAP, model=MODEL, size=3 * CAP)
    argv = [server.base_url, SANDBOX_KEY, str(journal), str(out), json.dumps(work)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    child = subprocess.run(
        [sys.executable, "-c", program, *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    assert report["download"] == [errno.EFBIG, []]  # the OSError, and no file left at all
    escaped = report["escaped"]
    assert escaped is not None, report  # the journal could not keep up with 24 items
    assert escaped[:2] == ["cometapi_replicate._errors", "JournalError"], escaped
    assert str(journal) in escaped[2] and "could not record the batch" in escaped[2]
    saved_before = files_under(out) if out.exists() else {}
    assert all(size < CAP for size in saved_before.values())  # no file cut at the cap
    assert not any(name.startswith(PARTIAL) for name in saved_before)  # no partial file
    failed_downloads = [r for r in report["results"] if "download failed" in (r[2] or "")]
    assert failed_downloads  # one item at a time: the first, larger than the cap, came first

    results = run_batch(server, work, journal=journal, download=out)  # with room
    by_key = {result.key: result for result in results}
    assert sorted(by_key) == [key for key, _ in work]
    for key, value in work:
        created = sandbox.creates[Sandbox.input_key(value)]
        result = by_key[key]
        if result.outcome is BatchOutcome.UNKNOWN:  # its answer could not be recorded
            assert created <= 1 and result.status == "unknown"
            continue
        assert created == 1, (key, created)
        assert result.outcome is BatchOutcome.SUCCEEDED, result
        [path] = result.files
        expected = value["sandbox_output_bytes"] or path.stat().st_size
        assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size == expected
    for key, *_ in failed_downloads:  # recorded as not saved: saved by the resume
        assert by_key[key].files and not by_key[key].resumed
    assert sum(r.outcome is BatchOutcome.SUCCEEDED for r in results) >= len(work) // 2
    assert not (out / PARTIAL).exists()
    assert all(not name.endswith((".tmp", ".part")) for name in files_under(out))


def test_a_journal_removed_while_the_batch_runs_stops_it(
    server: SandboxServer, tmp_path: Path
) -> None:
    path = tmp_path / "journal.sqlite"
    work = [{"prompt": f"boat {i}"} for i in range(8)]

    def remove_it_after_the_first_result() -> None:
        with Client(base_url=server.base_url, api_key=SANDBOX_KEY) as client:
            for number, _ in enumerate(
                client.batch(MODEL, work, journal=path, concurrency=2, rate=None)
            ):
                if number == 0:  # SQLite would write on to the removed file, unseen
                    for name in tmp_path.iterdir():
                        name.unlink()

    with pytest.raises(JournalError, match="removed or replaced"):
        remove_it_after_the_first_result()
    assert server.sandbox.stats()["predictions"] < len(work), "it stopped sending creates"


def test_a_journal_that_cannot_be_opened_leaves_no_file_behind(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("in the way")
    with pytest.raises(JournalError, match="cannot be opened"):
        SqliteJournal(tmp_path / "file" / "journal.sqlite", MODEL)
    path = tmp_path / "journal.sqlite"
    real = SqliteJournal._setup

    def failing(self: SqliteJournal, model: str) -> None:
        real(self, model)
        error = sqlite3.OperationalError("disk I/O error")  # as SQLite raises it
        error.sqlite_errorname = "SQLITE_IOERR_WRITE"
        raise error

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SqliteJournal, "_setup", failing)
        with pytest.raises(JournalError, match="could not be written"):
            SqliteJournal(path, MODEL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"], "no journal left behind"
