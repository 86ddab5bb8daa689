"""Moving an output file's bytes: the sync and async twins.

``save``/``asave`` into a folder (all or nothing, through ``_staging.py``), ``read``/``aread``
into memory, ``stream``/``astream`` as chunks; which files and their names are decided first,
in ``_outputs.py``. Every download goes through a file-host client that sends the API key to
the API's own origin only; ``data:`` URLs are decoded and never sent anywhere.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import os
import threading
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import httpx

from ._errors import (
    APIConnectionError,
    APITimeoutError,
    CometAPIError,
    OutputTooLargeError,
    redact,
)
from ._filenames import check_name_template
from ._outputs import (
    Target,
    check_index,
    decode_data_url,
    is_data_url,
    output_source,
    plan_download,
    to_read,
)
from ._plans import Context
from ._responses import error_for, parse_retry_after
from ._secret import Secret
from ._staging import (
    Staged,
    Staging,
    Stopped,
    commit_all,
    drop,
    prepare,
    settle,
)
from ._timing import is_transient

if TYPE_CHECKING:
    import asyncio

    from cometapi_replicate_api.models import Prediction

__all__ = ["AsyncFiles", "Files", "aread", "asave", "astream", "read", "save", "stream"]

T = TypeVar("T")

MAX_PARALLEL = 4
"""Files of one prediction downloaded at once."""
WRITE_BATCH = 1 << 20
"""Async downloads hand their writer thread this many bytes at a time."""
WRITES_QUEUED = 2
"""Batches an async download may have waiting for the disk before it stops reading."""

# -- errors and retries --------------------------------------------------------------------


@contextlib.contextmanager
def _translated(secret: Secret | None) -> Iterator[None]:
    """httpx's exceptions as the SDK's, with the key removed from their text and no foreign
    exception in their chain (it may quote server bytes or the request's headers)."""
    try:
        yield
    except httpx.HTTPError as exc:
        text = redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, secret)
        if isinstance(exc, httpx.TimeoutException):
            raise APITimeoutError(f"request timed out ({text})") from None
        raise APIConnectionError(f"connection error ({text})") from None


def _expected_size(response: httpx.Response) -> int | None:
    if response.headers.get("content-encoding", "identity") != "identity":
        return None  # Content-Length counts the encoded bytes
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def _check_size(received: int, response: httpx.Response) -> None:
    expected = _expected_size(response)
    if expected is not None and received != expected:
        raise APIConnectionError(f"incomplete download: {received} of {expected} bytes")


def _check_limit(max_bytes: int | None, size: int | None) -> None:
    if max_bytes is not None and size is not None and size > max_bytes:
        raise OutputTooLargeError(max_bytes, size)


def _check_read_args(index: object, max_bytes: object) -> None:
    check_index(index)
    if max_bytes is not None and (
        not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 0
    ):
        raise ValueError("max_bytes must be None or an int of 0 or more")


# -- moving bytes: the sync and async twins ------------------------------------------------


@dataclass(frozen=True)
class Files:
    """What a download needs from a :class:`Client`: its file-host client and its context
    (timing, clock, and the key to keep out of errors)."""

    http: httpx.Client
    context: Context

    @property
    def secret(self) -> Secret | None:
        return self.context.secret


@dataclass(frozen=True)
class AsyncFiles:
    """The same for :class:`AsyncClient`."""

    http: httpx.AsyncClient
    context: Context

    @property
    def secret(self) -> Secret | None:
        return self.context.secret


def _retry_delay(context: Context, attempt: int, error: CometAPIError) -> float | None:
    """The pause before trying a file again after failed attempt ``attempt``, or ``None``."""
    headers = getattr(error, "headers", None) or {}
    return context.timing.retry_delay(
        attempt,
        retryable=is_transient(error),
        retry_after=parse_retry_after(headers, context.clock.time()),
    )


def _retrying(files: Files, once: Callable[[], T]) -> T:
    for attempt in itertools.count():
        try:
            return once()
        except CometAPIError as error:
            if (delay := _retry_delay(files.context, attempt, error)) is None:
                raise
            files.context.clock.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


async def _aretrying(files: AsyncFiles, once: Callable[[], Awaitable[T]]) -> T:
    for attempt in itertools.count():
        try:
            return await once()
        except CometAPIError as error:
            if (delay := _retry_delay(files.context, attempt, error)) is None:
                raise
            await files.context.clock.async_sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _open(files: Files, url: str) -> httpx.Response:
    """The response to ``GET url``, its body not yet read; an error status raises."""
    with _translated(files.secret):
        response = files.http.send(files.http.build_request("GET", url), stream=True)
        if not response.is_success:  # the body is no local: it may echo the key
            with contextlib.closing(response):
                raise error_for(
                    response.status_code, response.headers, response.read(), files.secret
                )
    return response


async def _aopen(files: AsyncFiles, url: str) -> httpx.Response:
    with _translated(files.secret):
        response = await files.http.send(files.http.build_request("GET", url), stream=True)
        if not response.is_success:
            async with contextlib.aclosing(response):
                raise error_for(
                    response.status_code, response.headers, await response.aread(), files.secret
                )
    return response


def _chunks(response: httpx.Response, secret: Secret | None) -> Generator[bytes]:
    """The body as it arrives (decoded), then a check that all of it came."""
    received = 0
    with _translated(secret):
        for chunk in response.iter_bytes():
            received += len(chunk)
            yield chunk
    _check_size(received, response)


async def _achunks(response: httpx.Response, secret: Secret | None) -> AsyncGenerator[bytes]:
    received = 0
    # An unencoded body as it is read (the same bytes without a decoding layer per 64 KB
    # chunk); one already read in memory (a mock transport's) has only its decoded form left.
    identity = response.headers.get("content-encoding", "identity") == "identity"
    raw = identity and not response.is_stream_consumed
    body = response.aiter_raw() if raw else response.aiter_bytes()
    with _translated(secret):
        async for chunk in body:
            received += len(chunk)
            yield chunk
    _check_size(received, response)


def _fetch(files: Files, url: str, staged: Staged, stop: threading.Event) -> None:
    """One attempt at ``url`` into ``staged``."""
    if stop.is_set():
        raise Stopped
    staged.restart()
    if is_data_url(url):
        staged.write([decode_data_url(url)])
        return
    response = _open(files, url)
    write = staged.file.write  # the loop runs per 64 KB read at wire speed: nothing else in it
    try:
        for chunk in _chunks(response, files.secret):
            if stop.is_set():
                raise Stopped
            write(chunk)
    finally:
        response.close()


async def _afetch(files: AsyncFiles, url: str, staged: Staged) -> None:
    """One attempt at ``url`` into ``staged``, writing on a worker thread."""
    staged.restart()
    if is_data_url(url):
        await _off_loop(lambda: staged.write([decode_data_url(url)]))
        return
    response = await _aopen(files, url)
    try:
        await _write_off_loop(_achunks(response, files.secret), staged)
    finally:
        await response.aclose()


async def _write_off_loop(chunks: AsyncIterator[bytes], staged: Staged) -> None:
    """Write ``chunks`` in batches on a writer thread while the next batches arrive.

    A body shorter than one batch is written once at its end; a longer one starts a writer
    thread of its own (see :class:`_Writer`). Whatever happens, no write is still running on
    ``staged`` when this returns or raises: the caller may discard the file at once.
    """
    batch: list[bytes] = []
    size = 0
    writer: _Writer | None = None
    try:
        async for chunk in chunks:
            batch.append(chunk)
            size += len(chunk)
            if size >= WRITE_BATCH:
                if writer is None:
                    writer = _Writer(staged)
                await writer.put(batch)
                batch, size = [], 0
        if writer is None:
            await _off_loop(lambda: staged.write(batch))
            return
        if batch:
            await writer.put(batch)
        await writer.close()
    finally:  # an error or a cancellation: drop what is queued, wait for the write under way
        if writer is not None:
            await writer.abandon()


class _Writer:
    """One download's writer thread: it writes the batches it is handed, in order, so that the
    event loop never waits for the disk.

    Handing a batch over is a queue put, no wake-up of the loop: the thread wakes the loop only
    when the loop waits for it (``WRITES_QUEUED`` batches not yet written: a disk slower than
    the network holds the download back, with bounded memory) and once at the end: no task,
    future or wake-up of the loop per batch. A failed write (a full disk) is raised by the next
    :meth:`put` or by :meth:`close`; later batches are dropped unwritten.
    """

    def __init__(self, staged: Staged) -> None:
        import asyncio
        import queue

        self._loop = asyncio.get_running_loop()
        self._staged = staged
        self._queue: queue.SimpleQueue[list[bytes] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._unwritten = 0  # batches handed over and not yet written (under the lock)
        self._waiter: asyncio.Future[None] | None = None  # the loop waiting for room
        self._error: BaseException | None = None
        self._dropping = False
        self._finished: asyncio.Future[None] = self._loop.create_future()
        self._ended = False
        threading.Thread(target=self._run, name="cometapi-download-writer", daemon=True).start()

    def _run(self) -> None:
        try:
            while (batch := self._queue.get()) is not None:
                if self._error is None and not self._dropping:
                    try:
                        self._staged.write(batch)
                    except BaseException as exc:  # raised in the loop by the next put or close
                        self._error = exc
                del batch  # its memory goes now, not when the next one arrives
                with self._lock:
                    self._unwritten -= 1
                    waiter, self._waiter = self._waiter, None
                if waiter is not None:
                    self._loop.call_soon_threadsafe(_resolve, waiter)
        finally:
            self._loop.call_soon_threadsafe(_resolve, self._finished)

    async def put(self, batch: list[bytes]) -> None:
        """Queue ``batch``; wait only while ``WRITES_QUEUED`` earlier batches are unwritten."""
        waiter = None
        with self._lock:
            self._unwritten += 1
            if self._unwritten > WRITES_QUEUED:
                waiter = self._waiter = self._loop.create_future()
        self._queue.put(batch)
        if waiter is not None:
            await waiter
        self._raise_error()

    async def close(self) -> None:
        """Wait until every queued batch is written; raise a failed write."""
        self._end()
        await self._finished
        self._raise_error()

    async def abandon(self) -> None:
        """Drop the batches not yet written and wait for the thread to end, even if cancelled
        meanwhile (the cancellation is raised after)."""
        import asyncio

        self._dropping = True
        self._end()
        cancelled = False
        while not self._finished.done():
            try:
                await asyncio.wait([self._finished])
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._queue.put(None)

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _off_loop(work: Callable[[], T]) -> T:
    """``work()`` on a worker thread; cancelled meanwhile, it still finishes before we go on."""
    import asyncio  # here: a synchronous program never imports it

    running = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        await asyncio.wait([running])
        raise


def save(
    files: Files,
    prediction_or_id: Prediction | str,
    directory: str | os.PathLike[str],
    *,
    overwrite: bool,
    name: str,
    get: Callable[[str], Prediction],
) -> list[Path]:
    """Save every output file into ``directory``, or none of them (see the module's doc)."""
    check_name_template(name)
    source = to_read(prediction_or_id)
    prediction = get(source) if isinstance(source, str) else source
    targets = plan_download(prediction, Path(directory), name=name)
    prepare(targets, overwrite)
    return commit_all(settle(_stage_all(files, targets)), overwrite)


def _stage_all(files: Files, targets: Sequence[Target]) -> list[Staging]:
    """Each target into a staged file, up to ``MAX_PARALLEL`` at once on daemon threads.

    The first failure stops the others (they end between two chunks). An interrupt (Ctrl-C)
    returns at once, without waiting for a worker blocked in a read: every staged file is
    dropped under the lock, and a worker that wakes later finds ``stop`` set and starts none.
    """
    stop, lock = threading.Event(), threading.Lock()
    staged: list[Staged] = []
    futures = [concurrent.futures.Future[Staged]() for _ in targets]
    pending = iter(range(len(targets)))

    def one(target: Target) -> Staged:
        with lock:
            if stop.is_set():
                raise Stopped
            item = Staged(target.destination)
            staged.append(item)
        try:
            _retrying(files, lambda: _fetch(files, target.source, item, stop))
        except BaseException:
            stop.set()  # no further file starts
            item.discard()
            raise
        return item

    def worker() -> None:
        while True:
            with lock:
                index = next(pending, None)
            if index is None:
                return
            future = futures[index]
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(one(targets[index]))
                except BaseException as exc:
                    future.set_exception(exc)

    try:  # an interrupt while the workers start is one too: they may already have files
        for _ in range(min(len(targets), MAX_PARALLEL)):
            threading.Thread(target=worker, name="cometapi-download", daemon=True).start()
        concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
        stop.set()  # a failure: the others stop between two chunks, and we wait for them
        for future in futures:
            future.cancel()
        concurrent.futures.wait(futures)
    except BaseException:  # Ctrl-C: drop every staged file now, wait for no worker
        with lock:
            stop.set()
            for item in staged:
                item.discard()
        raise
    return [_staging(future) for future in futures]


async def asave(
    files: AsyncFiles,
    prediction_or_id: Prediction | str,
    directory: str | os.PathLike[str],
    *,
    overwrite: bool,
    name: str,
    get: Callable[[str], Awaitable[Prediction]],
) -> list[Path]:
    import asyncio

    check_name_template(name)
    source = to_read(prediction_or_id)
    prediction = await get(source) if isinstance(source, str) else source
    targets = plan_download(prediction, Path(directory), name=name)
    await _off_loop(lambda: prepare(targets, overwrite))
    limit = asyncio.Semaphore(MAX_PARALLEL)
    stop = threading.Event()

    async def one(target: Target) -> Staged:
        async with limit:
            if stop.is_set():
                raise Stopped
            staged = Staged(target.destination)
            try:
                await _aretrying(files, lambda: _afetch(files, target.source, staged))
            except BaseException:
                stop.set()  # no further file starts
                staged.discard()
                raise
            return staged

    tasks = [asyncio.ensure_future(one(target)) for target in targets]
    try:
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:  # the first failure (or a cancellation) stops the others
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
    except BaseException:
        drop(_staging(task) for task in tasks)
        raise
    stagings = [_staging(task) for task in tasks]
    return await _off_loop(lambda: commit_all(settle(stagings), overwrite))


def _staging(future: concurrent.futures.Future[Staged] | asyncio.Future[Staged]) -> Staging:
    if future.cancelled():
        return None
    return future.exception() or future.result()


def read(
    files: Files,
    prediction_or_id: Prediction | str,
    index: int,
    *,
    max_bytes: int | None,
    get: Callable[[str], Prediction],
) -> bytes:
    """Output file ``index`` in memory; more than ``max_bytes``: an error, nothing more read."""
    _check_read_args(index, max_bytes)
    source = to_read(prediction_or_id)
    prediction = get(source) if isinstance(source, str) else source
    url = output_source(prediction, index)
    if is_data_url(url):
        return _limited([decode_data_url(url)], max_bytes)

    def once() -> bytes:
        response = _open(files, url)
        try:
            _check_limit(max_bytes, _expected_size(response))
            return _limited(_chunks(response, files.secret), max_bytes)
        finally:
            response.close()

    return _retrying(files, once)


async def aread(
    files: AsyncFiles,
    prediction_or_id: Prediction | str,
    index: int,
    *,
    max_bytes: int | None,
    get: Callable[[str], Awaitable[Prediction]],
) -> bytes:
    _check_read_args(index, max_bytes)
    source = to_read(prediction_or_id)
    prediction = await get(source) if isinstance(source, str) else source
    url = output_source(prediction, index)
    if is_data_url(url):
        return _limited([decode_data_url(url)], max_bytes)

    async def once() -> bytes:
        response = await _aopen(files, url)
        try:
            _check_limit(max_bytes, _expected_size(response))
            return await _alimited(_achunks(response, files.secret), max_bytes)
        finally:
            await response.aclose()

    return await _aretrying(files, once)


def _limited(chunks: Iterable[bytes], max_bytes: int | None) -> bytes:
    body = bytearray()
    for chunk in chunks:
        body += chunk
        _check_limit(max_bytes, len(body))
    return bytes(body)


async def _alimited(chunks: AsyncIterator[bytes], max_bytes: int | None) -> bytes:
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        _check_limit(max_bytes, len(body))
    return bytes(body)


@contextlib.contextmanager
def stream(
    files: Files,
    prediction_or_id: Prediction | str,
    index: int,
    *,
    get: Callable[[str], Prediction],
) -> Iterator[Iterator[bytes]]:
    """Output file ``index`` as an iterator of byte chunks, open while the context lasts."""
    check_index(index)
    source = to_read(prediction_or_id)
    prediction = get(source) if isinstance(source, str) else source
    url = output_source(prediction, index)
    response = None if is_data_url(url) else _retrying(files, lambda: _open(files, url))
    chunks = _once(decode_data_url(url)) if response is None else _chunks(response, files.secret)
    try:
        yield chunks
    finally:
        chunks.close()
        if response is not None:
            response.close()


@contextlib.asynccontextmanager
async def astream(
    files: AsyncFiles,
    prediction_or_id: Prediction | str,
    index: int,
    *,
    get: Callable[[str], Awaitable[Prediction]],
) -> AsyncIterator[AsyncIterator[bytes]]:
    check_index(index)
    source = to_read(prediction_or_id)
    prediction = await get(source) if isinstance(source, str) else source
    url = output_source(prediction, index)
    response = None if is_data_url(url) else await _aretrying(files, lambda: _aopen(files, url))
    chunks = _aonce(decode_data_url(url)) if response is None else _achunks(response, files.secret)
    try:
        yield chunks
    finally:
        await chunks.aclose()
        if response is not None:
            await response.aclose()


async def _aonce(data: bytes) -> AsyncGenerator[bytes]:
    yield data


def _once(data: bytes) -> Generator[bytes]:
    yield data
