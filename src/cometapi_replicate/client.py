"""``Client`` and ``AsyncClient``: thin drivers that carry out the plans in ``plans.py``."""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from cometapi_replicate_api import Client as GeneratedClient
from cometapi_replicate_api.api.default import create_predictions_general, replicate_query
from cometapi_replicate_api.models import Prediction

from . import download, plans
from ._http import USER_AGENT, AsyncForwardingTransport, ForwardingTransport, OriginBearerAuth
from .errors import CometAPIError
from .retry import RetryPolicy
from .schedule import FLOOR, AdaptiveSchedule, FixedSchedule, Schedule

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "AsyncClient", "Client"]

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.cometapi.com"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
"""Per request: CometAPI's poll endpoint has been seen to hang, so every request has a limit."""

OnUpdate = Callable[[Prediction], None]

MAX_PARALLEL_DOWNLOADS = 4


class _Settings:
    """What both clients resolve from their arguments and the environment."""

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("COMETAPI_KEY")
        if not key:
            raise CometAPIError("no API key: pass api_key= or set COMETAPI_KEY")
        url = httpx.URL(base_url or os.environ.get("COMETAPI_BASE_URL") or DEFAULT_BASE_URL)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an http(s) URL, not {str(url)!r}")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.key = key
        self.base_url = url
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.retry = RetryPolicy(max_retries=max_retries)
        self.clock: Callable[[], float] = time.monotonic

    def httpx_kwargs(self, *, downloads: bool = False) -> dict[str, Any]:
        """For the API client, or (``downloads``) for output files: those follow redirects,
        and the key still goes to the API's origin alone (httpx drops it on a cross-origin
        redirect; ``OriginBearerAuth`` never adds it for another origin)."""
        return {
            "base_url": "" if downloads else self.base_url,
            "auth": OriginBearerAuth(self.key, self.base_url),
            "timeout": self.timeout,
            "headers": {"User-Agent": USER_AGENT},
            "follow_redirects": downloads,
        }

    def context(self) -> plans.Context:
        return plans.Context(retry=self.retry, secret=self.key, clock=self.clock)

    def schedule(self, poll_interval: float | None) -> Schedule:
        if poll_interval is None:
            return AdaptiveSchedule()
        if poll_interval < FLOOR:
            raise ValueError(f"poll_interval must be at least {FLOOR} seconds")
        return FixedSchedule(poll_interval)

    def watch_plan(
        self, start: Prediction | str, timeout: float | None, poll_interval: float | None
    ) -> plans.Plan[Prediction]:
        _check_timeout(timeout)
        return plans.watch(start, self.context(), self.schedule(poll_interval), timeout=timeout)

    def run_plan(
        self, model: str, model_input: Mapping[str, Any], timeout: float | None
    ) -> plans.Plan[Prediction]:
        _check_timeout(timeout)
        return plans.run(model, model_input, self.context(), self.schedule(None), timeout)

    def fetch_plans(
        self, prediction: Prediction, directory: str | os.PathLike[str], overwrite: bool
    ) -> list[plans.Plan[Path]]:
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        files = download.plan_files(prediction, folder, overwrite=overwrite)
        return [plans.fetch(url, dest, overwrite, self.context()) for url, dest in files]


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must be 0 or more seconds, or None for no limit")


class Client:
    """A synchronous client for CometAPI's Replicate predictions.

    ``api_key`` defaults to ``COMETAPI_KEY``, ``base_url`` to ``COMETAPI_BASE_URL`` or
    ``https://api.cometapi.com``. ``timeout`` applies to each request, ``max_retries`` to each
    call. ``http_client`` is your own configured ``httpx.Client`` (transport, proxies, limits,
    hooks); the SDK's base URL, auth and timeouts still apply, and closing this client leaves
    yours open.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._settings = settings = _Settings(api_key, base_url, timeout, max_retries)

        def transport() -> httpx.BaseTransport | None:
            return ForwardingTransport(http_client) if http_client is not None else None

        self._http = httpx.Client(transport=transport(), **settings.httpx_kwargs())
        self._files = httpx.Client(transport=transport(), **settings.httpx_kwargs(downloads=True))
        api = GeneratedClient(base_url=str(settings.base_url)).set_httpx_client(self._http)
        self._calls: dict[str, Callable[..., Any]] = {
            "get": functools.partial(replicate_query.sync_detailed, client=api),
            "create": functools.partial(create_predictions_general.sync_detailed, client=api),
            # A closure, not a partial: a partial's repr would show the key.
            "fetch": lambda **kw: download.fetch(self._files, secret=settings.key, **kw),
        }
        self._sleep: Callable[[float], None] = time.sleep
        self.predictions = Predictions(self)

    @property
    def base_url(self) -> str:
        return str(self._settings.base_url)

    def _run(self, plan: plans.Plan[T]) -> Iterator[Prediction | plans.Done[T]]:
        outcome: object = None
        try:
            while True:
                step = plan.send(outcome)
                outcome = None
                if isinstance(step, plans.Call):
                    try:
                        outcome = self._calls[step.operation](**step.kwargs)
                    except Exception as exc:  # handed to the plan, which maps or re-raises it
                        outcome = exc
                elif isinstance(step, plans.Sleep):
                    self._sleep(step.seconds)
                else:
                    yield step.prediction
        except StopIteration as stop:
            yield plans.Done(stop.value)
        finally:
            plan.close()

    def _result(self, plan: plans.Plan[T], on_update: OnUpdate | None = None) -> T:
        for item in self._run(plan):
            if isinstance(item, plans.Done):
                return item.value
            if on_update is not None:
                on_update(item)
        raise AssertionError("a plan always ends")  # pragma: no cover

    def run(
        self,
        model: str,
        input: Mapping[str, Any],
        *,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
    ) -> Prediction:
        """Create a prediction of ``model`` (``"owner/name"``), wait for it, and return it once
        it has succeeded; raise :class:`PredictionError` if it failed or was canceled.
        ``timeout`` bounds the wait."""
        return self._result(self._settings.run_plan(model, input, timeout), on_update)

    def close(self) -> None:
        """Close the connections this client opened (never a caller's ``http_client``)."""
        self._http.close()
        self._files.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r})"


class Predictions:
    """``client.predictions``: get, wait for and watch predictions."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def get(self, prediction_id: str) -> Prediction:
        """The prediction's current state. Transient failures are retried."""
        return self._client._result(plans.get(prediction_id, self._client._settings.context()))

    def create(self, model: str, input: Mapping[str, Any]) -> Prediction:
        """Start a prediction of ``model`` (``"owner/name"``) with ``input``.

        ``pathlib.Path``, bytes and binary files in ``input`` are sent as ``data:`` URLs.
        A create is not idempotent, so it is retried only when the request provably never
        reached the server (no connection) or was refused with 429; never after a timeout or
        a 5xx, when the prediction may already exist.
        """
        return self._client._result(plans.create(model, input, self._client._settings.context()))

    def download(
        self,
        prediction_or_id: Prediction | str,
        directory: str | os.PathLike[str],
        *,
        overwrite: bool = False,
    ) -> list[Path]:
        """Save the outputs of a succeeded prediction into ``directory``, in output order.

        Each file appears only when complete; an existing file raises ``FileExistsError``
        unless ``overwrite``. Raises :class:`OutputUnavailableError` when there is no output.
        """
        prediction = self._resolve(prediction_or_id)
        fetches = self._client._settings.fetch_plans(prediction, directory, overwrite)
        if len(fetches) <= 1:
            return [self._client._result(plan) for plan in fetches]
        with ThreadPoolExecutor(min(len(fetches), MAX_PARALLEL_DOWNLOADS)) as pool:
            return list(pool.map(self._client._result, fetches))

    def _resolve(self, prediction_or_id: Prediction | str) -> Prediction:
        if isinstance(prediction_or_id, Prediction):
            return prediction_or_id
        return self.get(prediction_or_id)

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
        fixed one; ``on_update`` is called with each new state. Use :func:`raise_for_failure`
        on the result to turn failed or canceled predictions into exceptions.
        """
        plan = self._client._settings.watch_plan(prediction_or_id, timeout, poll_interval)
        return self._client._result(plan, on_update)

    def watch(
        self,
        prediction_or_id: Prediction | str,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
    ) -> Iterator[Prediction]:
        """Yield the prediction each time its status, logs, output or error change; the last
        item is the terminal state. Same arguments and errors as :meth:`wait`."""
        plan = self._client._settings.watch_plan(prediction_or_id, timeout, poll_interval)
        for item in self._client._run(plan):
            if not isinstance(item, plans.Done):
                yield item


class AsyncClient:
    """The asynchronous twin of :class:`Client`; ``http_client`` is an ``httpx.AsyncClient``."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._settings = settings = _Settings(api_key, base_url, timeout, max_retries)

        def transport() -> httpx.AsyncBaseTransport | None:
            return AsyncForwardingTransport(http_client) if http_client is not None else None

        self._http = httpx.AsyncClient(transport=transport(), **settings.httpx_kwargs())
        self._files = httpx.AsyncClient(
            transport=transport(), **settings.httpx_kwargs(downloads=True)
        )
        api = GeneratedClient(base_url=str(settings.base_url)).set_async_httpx_client(self._http)
        self._calls: dict[str, Callable[..., Awaitable[Any]]] = {
            "get": functools.partial(replicate_query.asyncio_detailed, client=api),
            "create": functools.partial(create_predictions_general.asyncio_detailed, client=api),
            "fetch": lambda **kw: download.afetch(self._files, secret=settings.key, **kw),
        }
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self.predictions = AsyncPredictions(self)

    @property
    def base_url(self) -> str:
        return str(self._settings.base_url)

    async def _run(self, plan: plans.Plan[T]) -> AsyncGenerator[Prediction | plans.Done[T]]:
        outcome: object = None
        try:
            while True:
                step = plan.send(outcome)
                outcome = None
                if isinstance(step, plans.Call):
                    try:
                        outcome = await self._calls[step.operation](**step.kwargs)
                    except Exception as exc:  # handed to the plan, which maps or re-raises it
                        outcome = exc
                elif isinstance(step, plans.Sleep):
                    await self._sleep(step.seconds)
                else:
                    yield step.prediction
        except StopIteration as stop:
            yield plans.Done(stop.value)
        finally:
            plan.close()

    async def _result(self, plan: plans.Plan[T], on_update: OnUpdate | None = None) -> T:
        run = self._run(plan)
        try:
            async for item in run:
                if isinstance(item, plans.Done):
                    return item.value
                if on_update is not None:
                    on_update(item)
        finally:
            await run.aclose()
        raise AssertionError("a plan always ends")  # pragma: no cover

    async def run(
        self,
        model: str,
        input: Mapping[str, Any],
        *,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
    ) -> Prediction:
        """See :meth:`Client.run`."""
        return await self._result(self._settings.run_plan(model, input, timeout), on_update)

    async def aclose(self) -> None:
        """Close the connections this client opened (never a caller's ``http_client``)."""
        await self._http.aclose()
        await self._files.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncClient(base_url={self.base_url!r})"


class AsyncPredictions:
    """``client.predictions`` on :class:`AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def get(self, prediction_id: str) -> Prediction:
        """The prediction's current state. Transient failures are retried."""
        return await self._client._result(
            plans.get(prediction_id, self._client._settings.context())
        )

    async def create(self, model: str, input: Mapping[str, Any]) -> Prediction:
        """See :meth:`Predictions.create`."""
        context = self._client._settings.context()
        return await self._client._result(plans.create(model, input, context))

    async def download(
        self,
        prediction_or_id: Prediction | str,
        directory: str | os.PathLike[str],
        *,
        overwrite: bool = False,
    ) -> list[Path]:
        """See :meth:`Predictions.download`."""
        prediction = (
            prediction_or_id
            if isinstance(prediction_or_id, Prediction)
            else await self.get(prediction_or_id)
        )
        fetches = self._client._settings.fetch_plans(prediction, directory, overwrite)
        limit = asyncio.Semaphore(MAX_PARALLEL_DOWNLOADS)

        async def one(plan: plans.Plan[Path]) -> Path:
            async with limit:
                return await self._client._result(plan)

        tasks = [asyncio.ensure_future(one(plan)) for plan in fetches]
        try:  # the first failure is raised as it is; the other downloads are stopped
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def wait(
        self,
        prediction_or_id: Prediction | str,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        on_update: OnUpdate | None = None,
    ) -> Prediction:
        """See :meth:`Predictions.wait`."""
        plan = self._client._settings.watch_plan(prediction_or_id, timeout, poll_interval)
        return await self._client._result(plan, on_update)

    async def watch(
        self,
        prediction_or_id: Prediction | str,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
    ) -> AsyncIterator[Prediction]:
        """See :meth:`Predictions.watch`; an async iterator."""
        plan = self._client._settings.watch_plan(prediction_or_id, timeout, poll_interval)
        run = self._client._run(plan)
        try:
            async for item in run:
                if not isinstance(item, plans.Done):
                    yield item
        finally:
            await run.aclose()
