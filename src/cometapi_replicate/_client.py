"""``Client`` and ``AsyncClient``: thin drivers that carry out the plans in ``_plans.py``.

Each driver has one loop (``_drive``): it performs a plan's steps, sends back each answer or
throws in each failure, and returns what the plan returns. Nothing here decides anything:
the plans decide, and ``_settings.py`` resolves the client's arguments.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager, closing, contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, Unpack, assert_never

import httpx

from . import _plans as plans
from ._clock import Clock
from ._errors import CometAPIError, without_foreign_causes
from ._filenames import DEFAULT_NAME
from ._http import (
    AsyncForwardingTransport,
    ForwardingTransport,
    Requests,
    asend,
    restore_sniffio_imports,
    send,
    spare_failing_sniffio_imports,
)
from ._inputs import TypedInput
from ._responses import MAX_RESPONSE_BYTES
from ._settings import DEFAULT_TIMEOUT, MAX_CONNECTIONS, Settings

if TYPE_CHECKING:  # imported when first used: most programs never start a batch
    import asyncio

    # The generated package (and attrs) load with the first request, not with the import.
    from cometapi_replicate_api.models import Prediction

    from ._batch.runner import AsyncBatch, Batch, BatchKwargs, Inputs

__all__ = ["AsyncClient", "AsyncPredictions", "Client", "Predictions"]

T = TypeVar("T")
H = TypeVar("H", httpx.Client, httpx.AsyncClient)

OnUpdate = Callable[["Prediction"], None]
AsyncOnUpdate = Callable[["Prediction"], Awaitable[None] | None]
"""A plain function or an ``async def``; the async client awaits what it returns."""


def _endpoint(call: plans.Call) -> dict[str, Any]:
    """The request for an API call, as the generated endpoint describes it."""
    from cometapi_replicate_api.api.default import create_predictions_general, replicate_query

    if isinstance(call, plans.GetPrediction):
        return replicate_query._get_kwargs(call.prediction_id)
    return create_predictions_general._get_kwargs(call.owner, call.name, body=call.body)


def _bound_requests(http: httpx.Client) -> bool:
    """Whether ``http`` now keeps each request's deadline on its own connections (see
    ``_deadline.py``); ``False`` with an httpx or httpcore whose insides differ."""
    try:
        from ._deadline import bound_requests  # here: the async client never needs it
    except (ImportError, AttributeError):  # httpcore before 0.17 has no public backends
        return False
    return bound_requests(http)


@contextmanager
def _sdk_errors() -> Iterator[None]:
    """An SDK error leaves a plan without the foreign exceptions (httpx, h11) it came from."""
    try:
        yield
    except CometAPIError as error:
        clean = without_foreign_causes(error)
        raise clean from clean.__cause__


class _ClientBase(Generic[H]):
    """What both clients share: their arguments, settings and repr."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        http_client: H | None = None,
        clock: Clock | None = None,
        allow_insecure_http: bool = False,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self._settings = Settings(
            api_key,
            base_url,
            timeout,
            max_retries,
            clock,
            allow_insecure_http=allow_insecure_http,
            max_response_bytes=max_response_bytes,
        )
        self._connect(http_client)

    def _connect(self, http_client: H | None) -> None:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return str(self._settings.base_url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


class Client(_ClientBase[httpx.Client]):
    """A synchronous client for CometAPI's Replicate predictions.

    ``api_key`` defaults to ``COMETAPI_KEY``, ``base_url`` to ``COMETAPI_BASE_URL`` or
    ``https://api.cometapi.com``. ``timeout`` applies to each request (its largest phase also
    bounds the whole request: connect, send and the whole body), ``max_retries`` to each
    call. ``http_client`` is your own configured ``httpx.Client`` (transport, proxies, limits,
    hooks); the SDK's base URL, auth and timeouts still apply, and closing this client leaves
    yours open. ``clock`` replaces the real time and sleep (for tests: see :class:`Clock`).
    Plain ``http://`` is refused for hosts other than loopback unless
    ``allow_insecure_http=True``; an API response body larger than ``max_response_bytes``
    (16 MiB) raises :class:`ResponseValidationError`.

    The constructor sends no request. It raises :class:`CometAPIError` when there is no key,
    and ``ValueError`` for a key with spaces, control or non-ASCII characters inside, a
    ``base_url`` that is not http(s), or a ``timeout``, ``max_retries`` or
    ``max_response_bytes`` out of range. Use it as a context manager, or call :meth:`close`::

        with Client() as client:  # COMETAPI_KEY from the environment
            prediction = client.run("black-forest-labs/flux-schnell", {"prompt": "a fox"})
            paths = client.predictions.download(prediction, "out/")
    """

    predictions: Predictions
    """Create, get, wait for and watch predictions, and fetch their output files."""

    def _connect(self, http_client: httpx.Client | None) -> None:
        mine = ForwardingTransport(http_client) if http_client is not None else None
        self._http = httpx.Client(transport=mine, **self._settings.httpx_kwargs())
        self._requests = Requests(self._http, self._settings.timeout)
        self._bounded = _bound_requests(self._http)  # deadlines without a thread per request
        self._files = httpx.Client(transport=mine, **self._settings.httpx_kwargs(downloads=True))
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)  # held only for a request
        self.predictions = Predictions(self)

    def _drive(self, plan: plans.Plan[T], on_update: OnUpdate | None = None) -> T:
        """Carry out ``plan``: perform each step, send back its answer or throw in its error."""
        with closing(plan), _sdk_errors():
            try:
                step = next(plan)
                while True:
                    try:
                        answer = self._perform(step, on_update)
                    except Exception as exc:  # the plan maps, retries or raises it
                        step = plan.throw(exc)
                    else:
                        step, answer = plan.send(answer), None  # a pause holds no response
            except StopIteration as stop:
                result: T = stop.value
                return result

    def _perform(self, step: plans.Step, on_update: OnUpdate | None) -> object:
        match step:
            case plans.Emit(prediction) if on_update is not None:
                on_update(prediction)
            case plans.Emit():
                pass
            case plans.Sleep(seconds):
                self._settings.context.clock.sleep(seconds)
            case plans.GetPrediction() | plans.CreatePrediction():
                request = self._requests.build(_endpoint(step), step.budget)
                limit = self._settings.context.max_response_bytes
                with self._slots:
                    return plans.Reply(
                        send(self._http, request, step.budget, limit, bounded=self._bounded)
                    )
            case _:
                assert_never(step)
        return None

    def run(
        self,
        model: str,
        input: Mapping[str, Any] | TypedInput,
        *,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
        validate: bool = True,
    ) -> Prediction:
        """Create a prediction of ``model`` (``"owner/name"``), wait for it, and return it once
        it has succeeded.

        ``timeout`` bounds the wait (``None``: no limit); ``on_update`` is called with each new
        state. Raises :class:`PredictionFailedError` or :class:`PredictionCanceledError` (both
        :class:`PredictionError`, with ``.prediction``) if it failed or was canceled,
        :class:`WaitTimeoutError` when ``timeout`` passes first, and whatever
        :meth:`Predictions.create` and :meth:`Predictions.wait` raise (``input`` and
        ``validate`` as there)::

            prediction = client.run("black-forest-labs/flux-schnell", {"prompt": "a fox"})
            print(prediction.output)
        """
        plan = plans.run(model, input, self._settings.context, timeout=timeout, validate=validate)
        return self._drive(plan, on_update)

    def batch(
        self,
        model: str,
        inputs: Inputs,
        **options: Unpack[BatchKwargs],
    ) -> Batch:
        """Run many predictions of ``model``; iterate for each item's :class:`BatchResult` as it
        ends. ``inputs``: input mappings (key: their position) or ``(key, input)`` pairs, read
        lazily. Options: ``journal`` (a SQLite file: resume after a crash, never create twice),
        ``concurrency`` (items in flight, default 50), ``rate`` (creates per minute, default
        500; ``None``: unpaced), ``download`` (a directory: each item's files in a folder named
        for its key), ``timeout`` (seconds per prediction), ``recreate_unknown``, ``shard``
        (``(index, count)``), ``validate`` (default ``True``: see :meth:`Predictions.create`;
        the items of a list or tuple are all checked here, before anything is sent; those
        of an iterator as they are read, a refused one ending as an ``error`` result).

        Nothing is sent until you iterate. Items that fail, time out or are refused are
        reported as results and the batch goes on; only a refused key
        (:class:`AuthenticationError`, :class:`PermissionDeniedError`) stops it, raised from
        the loop. A journal another run is using is refused with :class:`JournalError`, an
        input changed under a journaled key with ``ValueError``. See :doc:`/guides/batches`::

            with Client() as client:
                batch = client.batch("black-forest-labs/flux-schnell", [{"prompt": "a fox"}],
                                     journal="run.sqlite", download="out/")
                for result in batch:
                    print(result.key, result.outcome, result.files)
                print(batch.summary)
        """
        from ._batch.runner import Batch, Host

        host = Host(self._settings.context, self._drive, self.predictions.download)
        return Batch(host, model, inputs, **options)

    def close(self) -> None:
        """Close the connections this client opened (never a caller's ``http_client``)."""
        self._http.close()
        self._files.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _PredictionsBase:
    def __init__(self, context: plans.Context) -> None:
        self._context = context

    def _watch(
        self,
        prediction_or_id: Prediction | str,
        timeout: float | None,
        poll_interval: float | None,
        stream: bool = False,
    ) -> plans.Plan[Prediction]:
        return plans.watch(
            prediction_or_id,
            self._context,
            timeout=timeout,
            poll_interval=poll_interval,
            stream=stream,
        )


class Predictions(_PredictionsBase):
    """``client.predictions``: create, get, wait for and watch predictions, and fetch their
    output files. Those that wait or read outputs take a :class:`Prediction` or its id."""

    def __init__(self, client: Client) -> None:
        super().__init__(client._settings.context)
        self._client = client

    def get(self, prediction_id: str) -> Prediction:
        """The prediction's current state, in one request. Transient failures are retried.

        Raises ``ValueError`` for a malformed id (nothing is sent), :class:`NotFoundError`
        when there is no such prediction, another :class:`APIStatusError`,
        :class:`APIConnectionError` or :class:`ResponseValidationError` when the request fails.
        """
        return self._client._drive(plans.get(prediction_id, self._context))

    def create(
        self, model: str, input: Mapping[str, Any] | TypedInput, *, validate: bool = True
    ) -> Prediction:
        """Start a prediction of ``model`` (``"owner/name"``) with ``input``: a dict, or an
        instance of the model's generated ``Input`` class (:func:`input_type`).

        For a model with a vendored document, the input is checked against it first: an
        unknown name, a wrong type, a value outside the choices or the range, or a missing
        required input raises :class:`InvalidInputError` (a ``ValueError``) and nothing is
        sent. ``validate=False`` sends it unchecked: for a live model that has gained an
        input its vendored document lacks. Inputs named ``sandbox_...`` (the sandbox's
        controls) are never checked.

        ``pathlib.Path``, bytes and binary files in ``input`` are sent as ``data:`` URLs.
        A create is not idempotent, so it is retried only when the request provably never
        reached the server (no connection) or was refused with 429; never after a timeout or
        a 5xx, when the prediction may already exist.

        Raises ``ValueError`` for a malformed model name or an input that is not JSON (nothing
        is sent), and :class:`APIStatusError` or :class:`APIConnectionError` when the create
        fails. The prediction returned has usually not ended: see :meth:`wait`.
        """
        return self._client._drive(plans.create(model, input, self._context, validate=validate))

    def download(
        self,
        prediction_or_id: Prediction | str,
        directory: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        name: str = DEFAULT_NAME,
    ) -> list[Path]:
        """Save the output files of a succeeded prediction into ``directory``, in output order.

        ``name`` is a template (``{id}``, ``{index}``, ``{stem}``, ``{ext}``) made safe for any
        filesystem. All files appear once all are complete, or none does. An existing file
        raises ``FileExistsError`` unless ``overwrite``. :class:`OutputUnavailableError`: not
        succeeded, output removed, or an output with no files. Up to four files download at
        once; when one fails, the others stop and its error is raised. ``ValueError``: a bad
        ``name`` template (before anything is fetched); ``NotADirectoryError``: ``directory``
        is a file. Returns the paths in output order::

            for path in client.predictions.download(prediction, "out/", name="{index}{ext}"):
                print("saved", path)
        """
        from . import _download as download  # here: a program that saves no file never imports it

        return download.save(
            download.Files(self._client._files, self._context),
            prediction_or_id,
            directory,
            overwrite=overwrite,
            name=name,
            get=self.get,
        )

    def read_output(
        self, prediction_or_id: Prediction | str, index: int = 0, *, max_bytes: int | None = None
    ) -> bytes:
        """Output file ``index`` (from 0 in :func:`output_urls` order; negative from the end)
        in memory. A file larger than ``max_bytes`` raises :class:`OutputTooLargeError` and no
        more of it is read; :class:`OutputUnavailableError` when the prediction has not
        succeeded, its output was removed, has no files or no such index."""
        from . import _download as download

        files = download.Files(self._client._files, self._context)
        return download.read(files, prediction_or_id, index, max_bytes=max_bytes, get=self.get)

    def stream_output(
        self, prediction_or_id: Prediction | str, index: int = 0
    ) -> AbstractContextManager[Iterator[bytes]]:
        """``with ... as chunks:`` output file ``index`` as an iterator of byte chunks, as they
        arrive; the connection closes when the block ends. Raises as :meth:`read_output`::

            with client.predictions.stream_output(prediction) as chunks:
                for chunk in chunks:
                    sink.write(chunk)
        """
        from . import _download as download

        files = download.Files(self._client._files, self._context)
        return download.stream(files, prediction_or_id, index, get=self.get)

    def wait(
        self,
        prediction_or_id: Prediction | str,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        on_update: OnUpdate | None = None,
    ) -> Prediction:
        """Poll until the prediction ends and return it (whatever its final status).

        ``timeout`` bounds the whole wait (``None``: no limit) and raises
        :class:`WaitTimeoutError`; ``poll_interval`` replaces the adaptive schedule with a
        fixed one; ``on_update`` is called with each state the caller has not seen (not the
        prediction passed in). Use :func:`raise_for_failure` on the result to turn failed or
        canceled predictions into exceptions.

        A failing poll is retried (with backoff) for up to five minutes of failures in a row,
        then its error is raised; the wait never sleeps past ``timeout``. ``ValueError``: a
        malformed id, or a ``timeout`` or ``poll_interval`` that is NaN or negative::

            prediction = client.predictions.wait(prediction, timeout=600, on_update=print)
        """
        plan = self._watch(prediction_or_id, timeout, poll_interval)
        return self._client._drive(plan, on_update)

    def watch(
        self,
        prediction_or_id: Prediction | str,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
    ) -> Iterator[Prediction]:
        """Yield the prediction each time its status, logs, output or error change; the last
        item is the terminal state. Same arguments and errors as :meth:`wait`."""
        with closing(self._watch(prediction_or_id, timeout, poll_interval, stream=True)) as plan:
            while (prediction := self._client._drive(plans.next_emit(plan))) is not None:
                yield prediction


class AsyncClient(_ClientBase[httpx.AsyncClient]):
    """The asynchronous twin of :class:`Client`; ``http_client`` is an ``httpx.AsyncClient``,
    and ``on_update`` may be a plain function or an ``async def``. Its methods are awaited,
    ``watch`` and ``stream_output`` are used with ``async for`` and ``async with``, and one
    client serves any number of concurrent tasks::

        async with AsyncClient() as client:
            prediction = await client.run("black-forest-labs/flux-schnell", {"prompt": "a fox"})
    """

    predictions: AsyncPredictions
    """See :attr:`Client.predictions`; its methods are awaited."""

    def _connect(self, http_client: httpx.AsyncClient | None) -> None:
        self._spares_sniffio = spare_failing_sniffio_imports()
        mine = AsyncForwardingTransport(http_client) if http_client is not None else None
        self._http = httpx.AsyncClient(transport=mine, **self._settings.httpx_kwargs())
        self._requests = Requests(self._http, self._settings.timeout)
        files = self._settings.httpx_kwargs(downloads=True)
        self._files = httpx.AsyncClient(transport=mine, **files)
        self._loop_slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self.predictions = AsyncPredictions(self)

    async def _drive(self, plan: plans.Plan[T], on_update: AsyncOnUpdate | None = None) -> T:
        """Carry out ``plan``: perform each step, send back its answer or throw in its error."""
        with closing(plan), _sdk_errors():
            try:
                step = next(plan)
                while True:
                    try:
                        answer = await self._perform(step, on_update)
                    except Exception as exc:  # the plan maps, retries or raises it
                        step = plan.throw(exc)
                    else:
                        step, answer = plan.send(answer), None  # a pause holds no response
            except StopIteration as stop:
                result: T = stop.value
                return result

    def _slots(self) -> asyncio.Semaphore:
        """The bound on requests in flight (see ``MAX_CONNECTIONS``); an asyncio semaphore
        belongs to one event loop, so a client used from another loop gets a new one."""
        import asyncio  # here: a synchronous program never imports it

        loop = asyncio.get_running_loop()
        if self._loop_slots is None or self._loop_slots[0] is not loop:
            self._loop_slots = (loop, asyncio.Semaphore(MAX_CONNECTIONS))
        return self._loop_slots[1]

    async def _perform(self, step: plans.Step, on_update: AsyncOnUpdate | None) -> object:
        match step:
            case plans.Emit(prediction) if on_update is not None:
                if inspect.isawaitable(reported := on_update(prediction)):
                    await reported
            case plans.Emit():
                pass
            case plans.Sleep(seconds):
                await self._settings.context.clock.async_sleep(seconds)
            case plans.GetPrediction() | plans.CreatePrediction():
                request = self._requests.build(_endpoint(step), step.budget)
                limit = self._settings.context.max_response_bytes
                async with self._slots():
                    return plans.Reply(await asend(self._http, request, step.budget, limit))
            case _:
                assert_never(step)
        return None

    async def run(
        self,
        model: str,
        input: Mapping[str, Any] | TypedInput,
        *,
        timeout: float | None = None,
        on_update: AsyncOnUpdate | None = None,
        validate: bool = True,
    ) -> Prediction:
        """See :meth:`Client.run`."""
        plan = plans.run(model, input, self._settings.context, timeout=timeout, validate=validate)
        return await self._drive(plan, on_update)

    def batch(
        self,
        model: str,
        inputs: Inputs,
        **options: Unpack[BatchKwargs],
    ) -> AsyncBatch:
        """See :meth:`Client.batch`; ``async for`` over the result."""
        from ._batch.runner import AsyncBatch, AsyncHost

        host = AsyncHost(self._settings.context, self._drive, self.predictions.download)
        return AsyncBatch(host, model, inputs, **options)

    async def aclose(self) -> None:
        """Close the connections this client opened (never a caller's ``http_client``)."""
        await self._http.aclose()
        await self._files.aclose()
        if self._spares_sniffio:
            self._spares_sniffio = False
            restore_sniffio_imports()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class AsyncPredictions(_PredictionsBase):
    """``client.predictions`` on :class:`AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        super().__init__(client._settings.context)
        self._client = client

    async def get(self, prediction_id: str) -> Prediction:
        """The prediction's current state. Transient failures are retried."""
        return await self._client._drive(plans.get(prediction_id, self._context))

    async def create(
        self, model: str, input: Mapping[str, Any] | TypedInput, *, validate: bool = True
    ) -> Prediction:
        """See :meth:`Predictions.create`."""
        plan = plans.create(model, input, self._context, validate=validate)
        return await self._client._drive(plan)

    async def download(
        self,
        prediction_or_id: Prediction | str,
        directory: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        name: str = DEFAULT_NAME,
    ) -> list[Path]:
        """See :meth:`Predictions.download`; files are written off the event loop."""
        from . import _download as download

        return await download.asave(
            download.AsyncFiles(self._client._files, self._context),
            prediction_or_id,
            directory,
            overwrite=overwrite,
            name=name,
            get=self.get,
        )

    async def read_output(
        self, prediction_or_id: Prediction | str, index: int = 0, *, max_bytes: int | None = None
    ) -> bytes:
        """See :meth:`Predictions.read_output`."""
        from . import _download as download

        files = download.AsyncFiles(self._client._files, self._context)
        return await download.aread(
            files, prediction_or_id, index, max_bytes=max_bytes, get=self.get
        )

    def stream_output(
        self, prediction_or_id: Prediction | str, index: int = 0
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """``async with ... as chunks:`` output file ``index`` as an async iterator of chunks."""
        from . import _download as download

        files = download.AsyncFiles(self._client._files, self._context)
        return download.astream(files, prediction_or_id, index, get=self.get)

    async def wait(
        self,
        prediction_or_id: Prediction | str,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        on_update: AsyncOnUpdate | None = None,
    ) -> Prediction:
        """See :meth:`Predictions.wait`."""
        plan = self._watch(prediction_or_id, timeout, poll_interval)
        return await self._client._drive(plan, on_update)

    async def watch(
        self,
        prediction_or_id: Prediction | str,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
    ) -> AsyncIterator[Prediction]:
        """See :meth:`Predictions.watch`; an async iterator."""
        with closing(self._watch(prediction_or_id, timeout, poll_interval, stream=True)) as plan:
            while (prediction := await self._client._drive(plans.next_emit(plan))) is not None:
                yield prediction
