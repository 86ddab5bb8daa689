"""``client.batch(...)``: the sync and async drivers of a ``BatchScheduler`` (``scheduler.py``).

Both only carry out what the scheduler decides, through the :class:`Host` (or
:class:`AsyncHost`) the client builds: a create or a poll is the client's own plan
(``plans.create``, ``plans.get``) performed once, without retries of its own (the scheduler
decides every retry, for the whole batch, with the client's ``Timing``); a download is the
client's ``predictions.download`` into a staging folder. They share everything else in
``_Core``: reading the inputs lazily, the journal, the clock, and publishing each item's folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import queue
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import (
    Any,
    ClassVar,
    Generic,
    Protocol,
    Self,
    TypedDict,
    TypeVar,
    Unpack,
    assert_never,
)

from cometapi_replicate_api.models import Prediction

from .. import _plans as plans
from .._errors import JournalError
from .._inputs import TypedInput, split_model
from .._staging import discard_folder, publish_folder, staging_folder
from .effects import (
    Abort,
    CreateRequest,
    DownloadRequest,
    Effect,
    Finish,
    PollRequest,
    Request,
    Save,
)
from .journal import Journal, open_journal
from .keys import check_inputs, check_shard, in_shard, keyed
from .records import BatchResult, BatchSummary
from .scheduler import DEFAULT_CONCURRENCY, DEFAULT_RATE, BatchOptions, BatchScheduler

__all__ = ["AsyncBatch", "Batch", "BatchKwargs"]

PARTIAL = ".batch-partial"
"""Folder of the download directory where an item's files are assembled before they appear."""
ITEM_FILE_NAME = "{stem}{ext}"
"""Each item has its own folder, so its files keep the names in their URLs."""
MAX_RESUMED_PER_STEP = 256
SYNC_REQUESTS = 32
ASYNC_REQUESTS = 64

Answer = Prediction | list[Path] | BaseException


F = TypeVar("F", "Future[Prediction | list[Path]]", "asyncio.Task[Prediction | list[Path]]")
"""How a driver holds a request in flight: a thread's future, or a task."""


class _Core:
    """What both drivers share: inputs, journal, scheduler and files; no network."""

    def __init__(
        self,
        model: str,
        inputs: Iterable[Any],
        options: BatchOptions,
        context: plans.Context,
        journal: str | os.PathLike[str] | None,
        download: str | os.PathLike[str] | None,
        shard: tuple[int, int] | None,
        validate: bool = True,
    ) -> None:
        split_model(model)
        check_shard(shard)
        self.validate = validate
        if validate and isinstance(inputs, Sequence):
            check_inputs(model, inputs)  # every item, before anything is sent
        elif isinstance(inputs, Sequence):
            for _ in keyed(inputs, model):  # another model's Input: refused before sending
                pass
        self.model = model
        self.options = options
        self.once = replace(context, timing=replace(context.timing, max_retries=0))
        """The client's context, with no retries: the scheduler retries, for the whole batch."""
        self.clock: Callable[[], float] = context.clock.monotonic
        self.scheduler = BatchScheduler(
            options, start=self.clock(), wall_clock=context.clock.time, durations=context.durations
        )
        self.directory = Path(download) if download is not None else None
        self._journal_path = journal
        self._journal: Journal | None = None
        self._inputs = (kv for kv in keyed(inputs, model) if in_shard(kv[0], shard))
        self._exhausted = False
        self.outbox: deque[Request] = deque()
        """Requests decided (their journal records committed), not yet handed to the network."""
        self.done: deque[BatchResult] = deque()
        """Results not yet handed to the caller."""
        self.journal_failed: JournalError | None = None
        """The journal's first failure: the batch stops with it."""

    def send(
        self, start: Callable[[Request], F], sent: dict[F, Request], done: Callable[[F], object]
    ) -> None:
        """Hand each decided request to ``start``, popped first (an interrupt can lose one, never
        send it twice); ``sent`` holds it until ``done`` receives its answer."""
        while self.outbox:
            request = self.outbox.popleft()
            handle = start(request)
            sent[handle] = request
            handle.add_done_callback(done)

    def drain(self) -> Iterator[BatchResult]:
        """The results not yet handed to the caller, each removed as it is handed over."""
        while self.done:
            yield self.done.popleft()

    def open(self) -> None:
        self._journal = open_journal(self._journal_path, self.model)

    @property
    def journal(self) -> Journal:
        assert self._journal is not None, "the batch has not started"
        return self._journal

    @property
    def finished(self) -> bool:
        return self._exhausted and self.scheduler.idle

    def step(self) -> None:
        """Take inputs while there is room, and the requests now due."""
        now = self.clock()
        effects: list[Effect] = []
        resumed = 0
        while resumed < MAX_RESUMED_PER_STEP and self.scheduler.free_slots() > 0:
            item = next(self._inputs, None)
            if item is None:
                self._exhausted = True
                break
            key, model_input = item
            with self._journaling():
                known = self.journal.lookup(key)
            admitted = self.scheduler.admit(key, model_input, known, now)
            resumed += len(admitted)
            effects += admitted
        effects += self.scheduler.due(now)
        self._apply(effects)

    def answer(self, request: Request, answer: Answer) -> None:
        now, scheduler = self.clock(), self.scheduler
        match request, answer:
            case CreateRequest(key), Prediction() | BaseException():
                effects = scheduler.created(key, answer, now)
            case PollRequest(key), Prediction() | BaseException():
                effects = scheduler.polled(key, answer, now)
            case DownloadRequest(key), list() | BaseException():
                effects = scheduler.downloaded(key, answer, now)
            case _:
                raise AssertionError(f"{type(answer).__name__} does not answer {request!r}")
        self._apply(effects)

    def _apply(self, effects: list[Effect]) -> None:
        """Journal first: committed before any request decided with it reaches the outbox."""
        self.commit(effects)
        abort: Abort | None = None
        for effect in effects:
            match effect:
                case Save():
                    pass
                case Finish(result):
                    self.done.append(result)
                case CreateRequest() | PollRequest() | DownloadRequest():
                    self.outbox.append(effect)
                case Abort():
                    abort = effect
                case _:
                    assert_never(effect)
        if abort is not None:
            raise abort.error

    def commit(self, effects: list[Effect]) -> None:
        """Stage and commit the ``Save`` effects among ``effects``."""
        for effect in effects:
            if isinstance(effect, Save):
                self.journal.save(effect.record)
        with self._journaling():
            self.journal.commit()

    @contextlib.contextmanager
    def _journaling(self) -> Iterator[None]:
        """The journal's first failure is raised; once the batch is stopping with it, later
        ones (recording what is left while it closes) are not: the first names the cause."""
        try:
            yield
        except JournalError as error:
            if self.journal_failed is None:
                self.journal_failed = error
                raise

    def unsent(self) -> None:
        """Creates decided and never sent (the batch stopped first) are pending again."""
        while self.outbox:
            request = self.outbox.popleft()
            if isinstance(request, CreateRequest):
                self._apply(self.scheduler.withdrawn(request.key))

    def wait_time(self) -> float | None:
        """Seconds until there may be something to do without an answer (``None``: wait)."""
        if not self._exhausted and self.scheduler.free_slots() > 0:
            return 0.0
        wakeup = self.scheduler.next_wakeup()
        return None if wakeup is None else max(wakeup - self.clock(), 0.0)

    # -- files -----------------------------------------------------------------------------

    def staging(self, step: DownloadRequest) -> Path:
        """An empty folder to download the item's files into (leftovers of a crash removed)."""
        assert self.directory is not None
        return staging_folder(self.directory / PARTIAL / step.folder)

    def publish(self, step: DownloadRequest, paths: list[Path]) -> list[Path]:
        """Move the complete folder into place; the item's files appear all at once."""
        assert self.directory is not None
        final = self.directory / step.folder
        publish_folder(self.directory / PARTIAL / step.folder, final)
        return [final / path.name for path in paths]

    def discard(self, step: DownloadRequest) -> None:
        """Remove what a failed download left in its staging folder."""
        assert self.directory is not None
        discard_folder(self.directory / PARTIAL / step.folder)

    def close(self) -> None:
        if self._journal is not None:
            with self._journaling():
                self._journal.close()
        if self.directory is not None:
            with contextlib.suppress(OSError):
                (self.directory / PARTIAL).rmdir()  # only when empty


class BatchKwargs(TypedDict, total=False):
    """The options of ``client.batch`` (see :meth:`Client.batch` for their meaning)."""

    journal: str | os.PathLike[str] | None
    concurrency: int
    download: str | os.PathLike[str] | None
    timeout: float | None
    rate: float | None
    recreate_unknown: bool
    shard: tuple[int, int] | None
    validate: bool


def _core(
    model: str,
    inputs: Iterable[Any],
    kwargs: BatchKwargs,
    context: plans.Context,
    max_requests: int,
) -> _Core:
    unknown = set(kwargs) - set(BatchKwargs.__annotations__)
    if unknown:
        raise TypeError(f"batch() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    concurrency = kwargs.get("concurrency", DEFAULT_CONCURRENCY)
    download = kwargs.get("download")
    options = BatchOptions(
        concurrency=concurrency,
        rate=kwargs.get("rate", DEFAULT_RATE),
        timeout=kwargs.get("timeout"),
        download=download is not None,
        recreate_unknown=kwargs.get("recreate_unknown", False),
        max_requests=min(max_requests, concurrency) if isinstance(concurrency, int) else 1,
        timing=context.timing,
    )
    journal, shard = kwargs.get("journal"), kwargs.get("shard")
    validate = kwargs.get("validate", True)
    return _Core(model, inputs, options, context, journal, download, shard, validate)


Inputs = Iterable[
    Mapping[str, Any] | TypedInput | tuple[str, Mapping[str, Any]] | tuple[str, TypedInput]
]
"""Input mappings (or typed inputs), or ``(key, input)`` pairs."""


class Downloads(Protocol):
    """How a batch saves an item's files: the client's ``predictions.download``."""

    def __call__(self, prediction: Prediction, directory: Path, /, *, name: str) -> list[Path]: ...


class AsyncDownloads(Protocol):
    """The async twin of :class:`Downloads`."""

    async def __call__(
        self, prediction: Prediction, directory: Path, /, *, name: str
    ) -> list[Path]: ...


@dataclass(frozen=True)
class Host:
    """What a batch asks of its client, which builds it: the client's plan context, a way to
    perform a plan, and its downloads. The batch knows nothing else of the client."""

    context: plans.Context
    perform: Callable[[plans.Plan[Prediction]], Prediction]
    download: Downloads


@dataclass(frozen=True)
class AsyncHost:
    """The async twin of :class:`Host`."""

    context: plans.Context
    perform: Callable[[plans.Plan[Prediction]], Awaitable[Prediction]]
    download: AsyncDownloads


H = TypeVar("H", Host, AsyncHost)


class _BatchBase(Generic[H]):
    """What both batches share: their host, their core, and the counts so far."""

    _max_requests: ClassVar[int]

    def __init__(self, host: H, model: str, inputs: Inputs, **options: Unpack[BatchKwargs]):
        self._host: H = host
        self._core = _core(model, inputs, options, host.context, self._max_requests)

    @property
    def summary(self) -> BatchSummary:
        return self._core.scheduler.summary()


class Batch(_BatchBase[Host]):
    """A running batch (see :meth:`Client.batch`): iterate for each item's result as it ends.

    ``summary`` counts the outcomes so far. Closing (``close()``, leaving a ``with`` block, or
    breaking out of the loop) waits for the requests already sent and records their answers.
    """

    _max_requests = SYNC_REQUESTS

    @cached_property
    def _results(self) -> Generator[BatchResult]:
        return self._run()

    def __iter__(self) -> Iterator[BatchResult]:
        return self._results

    def __next__(self) -> BatchResult:
        return next(self._results)

    def close(self) -> None:
        self._results.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _execute(self, request: Request) -> Prediction | list[Path]:
        core, perform = self._core, self._host.perform
        match request:
            case CreateRequest(_, model_input):
                return perform(_create(core, model_input))
            case PollRequest(_, prediction_id):
                return perform(plans.get(prediction_id, core.once))
            case DownloadRequest(_, prediction):
                try:
                    paths = self._host.download(
                        prediction, core.staging(request), name=ITEM_FILE_NAME
                    )
                    return core.publish(request, paths)
                except BaseException:
                    core.discard(request)
                    raise
            case _:
                assert_never(request)

    def _run(self) -> Generator[BatchResult]:
        core = self._core
        core.open()
        answers: queue.SimpleQueue[Future[Prediction | list[Path]]] = queue.SimpleQueue()
        sent: dict[Future[Prediction | list[Path]], Request] = {}
        pool = ThreadPoolExecutor(core.options.max_requests, thread_name_prefix="batch")

        try:
            core.step()
            while True:
                core.send(lambda request: pool.submit(self._execute, request), sent, answers.put)
                yield from core.drain()
                if core.finished:
                    return
                try:
                    first = answers.get(timeout=core.wait_time())
                except queue.Empty:
                    core.step()
                    continue
                for future in _drain(first, answers):
                    core.answer(sent[future], _answer(future))
                    del sent[future]  # after: an interrupt in between records it again
                core.step()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            try:
                core.unsent()
                for future, request in list(sent.items()):
                    if isinstance(request, CreateRequest):
                        _record_only(core, request, None if future.cancelled() else future)
            finally:
                pool.shutdown(wait=True)
                core.close()


class AsyncBatch(_BatchBase[AsyncHost]):
    """The asynchronous twin of :class:`Batch` (see :meth:`AsyncClient.batch`): ``async for``
    over it; ``aclose()`` or ``async with`` to stop early."""

    _max_requests = ASYNC_REQUESTS

    @cached_property
    def _results(self) -> AsyncGenerator[BatchResult]:
        return self._run()

    def __aiter__(self) -> AsyncIterator[BatchResult]:
        return self._results

    async def __anext__(self) -> BatchResult:
        return await anext(self._results)

    async def aclose(self) -> None:
        await self._results.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _execute(self, request: Request) -> Prediction | list[Path]:
        core, perform = self._core, self._host.perform
        match request:
            case CreateRequest(_, model_input):
                return await perform(_create(core, model_input))
            case PollRequest(_, prediction_id):
                return await perform(plans.get(prediction_id, core.once))
            case DownloadRequest(_, prediction):
                try:
                    staging = await asyncio.to_thread(core.staging, request)
                    paths = await self._host.download(prediction, staging, name=ITEM_FILE_NAME)
                    return await asyncio.to_thread(core.publish, request, paths)
                except BaseException:
                    await asyncio.to_thread(core.discard, request)
                    raise
            case _:
                assert_never(request)

    async def _run(self) -> AsyncGenerator[BatchResult]:
        core = self._core
        core.open()
        answers: asyncio.Queue[asyncio.Task[Prediction | list[Path]]] = asyncio.Queue()
        sent: dict[asyncio.Task[Prediction | list[Path]], Request] = {}

        def start(request: Request) -> asyncio.Task[Prediction | list[Path]]:
            return asyncio.ensure_future(self._execute(request))

        try:
            core.step()
            while True:
                core.send(start, sent, answers.put_nowait)
                for result in core.drain():
                    yield result
                if core.finished:
                    return
                try:
                    first = await _get(answers, core.wait_time())
                except TimeoutError:
                    core.step()
                    continue
                for task in _drain(first, answers):
                    core.answer(sent[task], _answer(task))
                    del sent[task]
                core.step()
        finally:
            creates = {t: r for t, r in sent.items() if isinstance(r, CreateRequest)}
            for task in sent:
                if task not in creates:
                    task.cancel()
            try:
                core.unsent()
                if creates:  # their answers carry the ids: wait for them, then record them
                    await asyncio.wait(creates)
                for task, request in creates.items():
                    _record_only(core, request, task)
            finally:
                await asyncio.gather(*sent, return_exceptions=True)
                core.close()


def _drain(first: Any, answers: Any) -> Iterator[Any]:
    """``first`` and every answer already waiting (sync or async queue, never blocking)."""
    yield first
    for _ in itertools.count():
        try:
            yield answers.get_nowait()
        except (queue.Empty, asyncio.QueueEmpty):
            return


async def _get(answers: asyncio.Queue[Any], timeout: float | None) -> Any:
    if timeout is None:
        return await answers.get()
    return await asyncio.wait_for(answers.get(), timeout)


class _NotSentError(ValueError):
    """Preparing a create failed (checking, converting or encoding its input): nothing was
    sent, so the item ends as an error, never as *unknown*."""


def _create(core: _Core, model_input: Mapping[str, Any]) -> plans.Plan[Prediction]:
    """The create's plan; everything before its request runs here, and any failure of it is
    a ``ValueError``, ``TypeError`` or ``OSError`` (which the scheduler knows sent nothing)."""
    try:
        return plans.create(core.model, model_input, core.once, validate=core.validate)
    except (ValueError, TypeError, OSError):
        raise
    except Exception as exc:
        raise _NotSentError(f"input not sent: {type(exc).__name__}: {exc}") from exc


def _answer(future: Future[Any] | asyncio.Future[Any]) -> Answer:
    """The future's value, or the exception it raised (handed to the scheduler)."""
    if future.cancelled():
        return asyncio.CancelledError()
    error = future.exception()
    if error is not None:
        if not isinstance(error, Exception):
            raise error  # KeyboardInterrupt, SystemExit: not the item's fault
        return error
    result: Answer = future.result()
    return result


def _record_only(
    core: _Core, request: CreateRequest, sent: Future[Any] | asyncio.Future[Any] | None
) -> None:
    """Journal a create's answer (``None``: it was never sent) while the batch is closing."""
    scheduler = core.scheduler
    outcome = None if sent is None else _answer(sent)
    assert not isinstance(outcome, list)
    try:
        if outcome is None:
            effects = scheduler.withdrawn(request.key)
        else:
            effects = scheduler.created(request.key, outcome, core.clock())
    except KeyError:  # already settled (the item that aborted the batch)
        return
    core.commit(effects)
