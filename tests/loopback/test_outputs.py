"""Outputs as they really come, through the public API, sync and async: any JSON output,
files in memory, as streams or on disk, names that never collide, files as users expect."""

from __future__ import annotations

import asyncio
import base64
import errno
import http.server
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import cometapi_replicate._download as dl
import cometapi_replicate._staging as staging
from cometapi_replicate import (
    APIConnectionError,
    AsyncClient,
    Client,
    NotFoundError,
    OutputTooLargeError,
    OutputUnavailableError,
    Prediction,
    ResponseValidationError,
    output_urls,
)
from cometapi_replicate.testing import Sandbox

from ..conftest import BASE, KEY, Facade, FakeClock, json_response, prediction_body
from ..inprocess.test_create_download import Dropping

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
CDN = "https://replicate.delivery/xezq/abc"
B64 = base64.b64encode(PNG).decode()


def with_output(output: Any, status: str = "succeeded", **extra: Any) -> Prediction:
    return Prediction.from_dict(prediction_body(status, output=output, **extra))


def serve(files: dict[str, bytes] | None = None, **predictions: Any) -> Any:
    """A handler: each prediction id in ``predictions`` at the API, ``files`` by URL."""

    def handler(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        for pid, body in predictions.items():
            if url == f"{BASE}/replicate/v1/predictions/{pid}":
                return json_response(body)
        if files is not None and url in files:
            return httpx.Response(200, content=files[url])
        if files is None and request.url.host == "replicate.delivery":
            return httpx.Response(200, content=url.encode())
        return httpx.Response(404)

    return handler


def call(client: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    return client._run(getattr(client.client.predictions, method)(*args, **kwargs))


def streamed(client: Any, *args: Any) -> list[bytes]:
    if client.kind == "sync":
        with client.client.predictions.stream_output(*args) as chunks:
            return list(chunks)

    async def main() -> list[bytes]:
        async with client.client.predictions.stream_output(*args) as chunks:
            return [chunk async for chunk in chunks]

    return asyncio.run(main())


# --- output_urls -----------------------------------------------------------------------------

SEGMENTS = {"transcription": "hello there", "segments": [{"start": 0.0, "text": "hello"}]}


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (None, []),
        ("https://replicate.delivery/a/out-0.webp", ["https://replicate.delivery/a/out-0.webp"]),
        ("A photo of a cat sitting on a mat.", []),
        ("see https://example.com/x.png", []),
        (" https://example.com/x.png", []),
        ("https://", []),
        ("http://[::1/x.png", []),
        (42, []),
        (0.97, []),
        (True, []),
        (SEGMENTS, []),
        ([{"label": "cat", "score": 0.9}, {"label": "dog", "score": 0.1}], []),
        ([0.1, 0.2, 0.3], []),
        (["Hello", ",", " world", "!", "https", "://"], []),
        ({"https://a.example/key.png": "value"}, []),
        (
            {"zip": f"{CDN}/a.zip", "video": f"{CDN}/b.mp4", "n": 2},
            [f"{CDN}/a.zip", f"{CDN}/b.mp4"],
        ),
        ([{"file": f"{CDN}/1.png"}, {"file": f"{CDN}/2.png"}], [f"{CDN}/1.png", f"{CDN}/2.png"]),
        (
            [[f"{CDN}/1.png", {"x": [f"{CDN}/2.png"]}], "text", f"{CDN}/3.png"],
            [f"{CDN}/1.png", f"{CDN}/2.png", f"{CDN}/3.png"],
        ),
        ("HTTPS://CDN.EXAMPLE/X.PNG", ["HTTPS://CDN.EXAMPLE/X.PNG"]),
        (f"DATA:image/png;BASE64,{B64}", [f"DATA:image/png;BASE64,{B64}"]),
        ("data:,hello", ["data:,hello"]),
        ("data: 1, 2, 3", []),
    ],
)
def test_output_urls_are_exactly_the_file_urls_in_document_order(
    output: Any, expected: list[str]
) -> None:
    assert output_urls(with_output(output)) == expected
    assert output_urls(output) == expected, "an output value works as well as a prediction"


def test_output_urls_of_a_prediction_without_output_or_deeply_nested() -> None:
    assert output_urls(Prediction(id="p", status="succeeded")) == []
    deep: list[Any] = [f"{CDN}/deep.png"]
    for _ in range(5000):
        deep = [deep]
    assert output_urls(deep) == [f"{CDN}/deep.png"]


# --- every output shape, through every public call ---------------------------------------------

NO_FILES = [
    "plain text",
    ["streamed", " tokens"],
    42,
    0.5,
    True,
    SEGMENTS,
    [{"label": "cat", "score": 0.9}],
    [0.1, 0.2],
    [[1, 2], [3]],
    {},
    [],
]


@pytest.mark.parametrize("output", NO_FILES, ids=repr)
def test_outputs_without_files_never_raise_a_bare_error(
    make: Any, tmp_path: Path, output: Any
) -> None:
    body = prediction_body("succeeded", output=output)
    client, api = make([serve(pred1=body)])
    got = client.get("pred1")
    assert got.output == output and output_urls(got) == []
    assert client.wait("pred1").output == output
    for attempt in (
        lambda: call(client, "download", "pred1", tmp_path / "out"),
        lambda: call(client, "download", got, tmp_path / "out"),
        lambda: call(client, "read_output", got),
        lambda: streamed(client, got),
    ):
        with pytest.raises(OutputUnavailableError, match="has no files") as info:
            attempt()
        assert "removed" not in str(info.value)
    assert not (tmp_path / "out").exists(), "no folder for a download that cannot happen"
    assert all(r.url.host == "api.test.example" for r in api.requests)


@pytest.mark.parametrize(
    ("output", "sources"),
    [
        ({"zip": f"{CDN}/a.zip", "video": f"{CDN}/b.mp4"}, [f"{CDN}/a.zip", f"{CDN}/b.mp4"]),
        ([{"file": f"{CDN}/1.png", "score": 0.5}], [f"{CDN}/1.png"]),
        ([[f"{CDN}/1.png"], "text", {"k": f"{CDN}/2.wav"}], [f"{CDN}/1.png", f"{CDN}/2.wav"]),
    ],
)
def test_download_saves_exactly_the_files_inside_any_output(
    make: Any, tmp_path: Path, output: Any, sources: list[str]
) -> None:
    client, api = make([serve()])
    paths = call(client, "download", with_output(output), tmp_path)
    assert [p.read_bytes() for p in paths] == [s.encode() for s in sources]
    assert [p.name for p in paths] == [
        f"pred1-{i}{Path(urllib.parse.urlsplit(s).path).suffix}" for i, s in enumerate(sources)
    ]
    assert sorted(str(r.url) for r in api.requests) == sorted(sources)


def test_removed_is_claimed_only_when_the_server_says_so(make: Any, tmp_path: Path) -> None:
    client, _ = make([serve()])
    removed = with_output(None, data_removed=True)
    with pytest.raises(OutputUnavailableError, match="removed"):
        call(client, "download", removed, tmp_path)
    for output in (None, [{"a": 1.5}], 7):
        with pytest.raises(OutputUnavailableError) as info:
            call(client, "download", with_output(output, data_removed=False), tmp_path)
        assert "removed" not in str(info.value)


# --- data: URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected", "name"),
    [
        (f"data:image/png;base64,{B64}", PNG, "pred1-0.png"),
        (f"DATA:IMAGE/PNG;BASE64,{B64}", PNG, "pred1-0.png"),
        (f"Data:image/png;Base64,{B64.rstrip('=')}", PNG, "pred1-0.png"),
        (f"data:image/png;base64,{urllib.parse.quote(B64, safe='')}", PNG, "pred1-0.png"),
        ("data:text/plain;charset=utf-8,caf%C3%A9", "café".encode(), "pred1-0.txt"),
        ("data:,hello", b"hello", "pred1-0"),
    ],
)
def test_data_urls_are_decoded_locally(
    make: Any, tmp_path: Path, url: str, expected: bytes, name: str
) -> None:
    client, api = make([serve({})])
    prediction = with_output([url])
    (path,) = call(client, "download", prediction, tmp_path)
    assert (path.name, path.read_bytes()) == (name, expected)
    assert call(client, "read_output", prediction) == expected
    assert b"".join(streamed(client, prediction)) == expected
    assert api.requests == [], "a data: URL is never sent anywhere"


def test_malformed_base64_is_a_typed_error(make: Any, tmp_path: Path) -> None:
    client, _ = make([serve({})])
    with pytest.raises(ResponseValidationError, match="base64"):
        call(client, "read_output", with_output(["data:image/png;base64,@@@@"]))
    with pytest.raises(ResponseValidationError, match="base64"):
        call(client, "download", with_output(["data:image/png;base64,@@@@"]), tmp_path)
    assert list(tmp_path.iterdir()) == []


# --- read_output and stream_output -----------------------------------------------------------


def test_read_output_by_id_and_index_never_sends_the_key_to_the_file_host(make: Any) -> None:
    body = prediction_body("succeeded", output=[f"{CDN}/a.png", f"{CDN}/b.png"])
    client, api = make([serve({f"{CDN}/a.png": PNG, f"{CDN}/b.png": b"second"}, pred1=body)])
    assert call(client, "read_output", "pred1") == PNG
    assert call(client, "read_output", "pred1", 1) == b"second"
    assert call(client, "read_output", "pred1", -1) == b"second"
    with pytest.raises(OutputUnavailableError, match="no index 2"):
        call(client, "read_output", "pred1", 2)
    assert api.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert all(
        "authorization" not in r.headers for r in api.requests if r.url.host != "api.test.example"
    )


class Counting(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body of ``count`` chunks that records how many were read."""

    def __init__(self, count: int, size: int = 1000) -> None:
        self.count, self.size, self.read = count, size, 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.count):
            self.read += 1
            yield b"x" * self.size

    async def __aiter__(self) -> Any:
        for chunk in self:
            yield chunk

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def streaming(kind: str, body: Counting, **headers: str) -> Facade:
    """A client whose every response has ``body``, streamed as it is read."""
    return Facade(kind, lambda r: httpx.Response(200, stream=body, headers=headers), FakeClock())


def test_read_output_stops_at_max_bytes(kind: str) -> None:
    body = Counting(1000)
    client = streaming(kind, body)
    assert call(client, "read_output", with_output(f"{CDN}/x.bin"), max_bytes=10**7) == (
        b"x" * 1_000_000
    )
    body = Counting(1000)
    client = streaming(kind, body)
    with pytest.raises(OutputTooLargeError, match="max_bytes=2500") as info:
        call(client, "read_output", with_output(f"{CDN}/x.bin"), max_bytes=2500)
    assert info.value.max_bytes == 2500 and body.read == 3, "nothing more is read"
    assert body.closed


def test_read_output_refuses_an_announced_size_before_reading(kind: str) -> None:
    body = Counting(1000)
    client = streaming(kind, body, **{"content-length": "1000000"})
    with pytest.raises(OutputTooLargeError) as info:
        call(client, "read_output", with_output(f"{CDN}/x.bin"), max_bytes=999)
    assert info.value.size == 1_000_000 and body.read == 0


def test_read_output_checks_its_arguments_before_sending_anything(make: Any) -> None:
    client, api = make([serve()])
    for bad in ({"index": "0"}, {"index": 1.0}, {"index": True}, {"max_bytes": -1}):
        with pytest.raises(ValueError):
            call(client, "read_output", "pred1", **bad)
    with pytest.raises(ValueError):
        streamed(client, "pred1", "0")
    assert api.requests == []


def test_read_output_retries_a_transient_failure(make: Any) -> None:
    client, api = make([httpx.Response(503), httpx.Response(200, content=PNG)])
    assert call(client, "read_output", with_output(f"{CDN}/x.png")) == PNG
    assert len(api.requests) == 2


def test_stream_output_yields_chunks_and_closes_the_response(make: Any, kind: str) -> None:
    body = Counting(5)
    chunks = streamed(streaming(kind, body), with_output([f"{CDN}/a.png", f"{CDN}/b.bin"]), 1)
    assert chunks == [b"x" * 1000] * 5 and body.closed
    client, api = make([lambda request: httpx.Response(200, content=b"data")])
    assert streamed(client, with_output([f"{CDN}/a.png", f"{CDN}/b.bin"]), 1) == [b"data"]
    assert str(api.requests[0].url) == f"{CDN}/b.bin"
    assert "authorization" not in api.requests[0].headers


def test_leaving_a_stream_early_closes_it(kind: str) -> None:
    body = Counting(1000)
    client = streaming(kind, body)
    prediction = with_output(f"{CDN}/x.bin")
    if kind == "sync":
        with client.client.predictions.stream_output(prediction) as chunks:
            next(iter(chunks))
    else:

        async def main() -> None:
            async with client.client.predictions.stream_output(prediction) as chunks:
                await anext(aiter(chunks))

        asyncio.run(main())
    assert body.closed and body.read < 1000


def test_stream_output_by_id(make: Any) -> None:
    body = prediction_body("succeeded", output=f"{CDN}/a.png")
    client, _ = make([serve({f"{CDN}/a.png": PNG}, pred1=body)])
    assert b"".join(streamed(client, "pred1")) == PNG


def test_stream_output_errors_are_typed(make: Any) -> None:
    client, _ = make([httpx.Response(404, content=b"<html>gone</html>")])
    with pytest.raises(NotFoundError):
        streamed(client, with_output(f"{CDN}/x.png"))
    client, _ = make([lambda request: httpx.Response(200, stream=Dropping())], max_retries=0)
    with pytest.raises(APIConnectionError):
        streamed(client, with_output(f"{CDN}/x.png"))
    client, _ = make(
        [lambda r: httpx.Response(200, content=b"abc", headers={"content-length": "9"})]
    )
    with pytest.raises(APIConnectionError, match="incomplete"):
        streamed(client, with_output(f"{CDN}/x.png"))
    client, api = make([httpx.Response(503), httpx.Response(200, content=PNG)])
    assert streamed(client, with_output(f"{CDN}/x.png")) == [PNG] and len(api.requests) == 2


# --- names -----------------------------------------------------------------------------------


def test_two_predictions_with_the_same_file_names_share_a_folder(make: Any, tmp_path: Path) -> None:
    client, _ = make([serve()])
    first = Prediction.from_dict(
        {
            **prediction_body("succeeded"),
            "id": "aaa",
            "output": [f"{CDN}/out-0.webp", f"{CDN}/out-1.webp"],
        }
    )
    second = Prediction.from_dict({**first.to_dict(), "id": "bbb"})
    names = [p.name for p in call(client, "download", first, tmp_path)]
    names += [p.name for p in call(client, "download", second, tmp_path)]
    assert names == ["aaa-0.webp", "aaa-1.webp", "bbb-0.webp", "bbb-1.webp"]
    with pytest.raises(FileExistsError, match="overwrite=True"):
        call(client, "download", first, tmp_path)
    assert len(call(client, "download", first, tmp_path, overwrite=True)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


def test_eight_threads_download_eight_predictions_into_one_folder(tmp_path: Path) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=PNG))
    client = Client(api_key=KEY, base_url=BASE, http_client=httpx.Client(transport=transport))
    outcomes: list[object] = []

    def one(n: int) -> None:
        prediction = Prediction.from_dict(
            {**prediction_body("succeeded"), "id": f"p{n}", "output": [f"{CDN}/out-0.webp"]}
        )
        try:
            outcomes.extend(client.predictions.download(prediction, tmp_path))
        except Exception as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"p{n}-0.webp" for n in range(8)]
    assert all(isinstance(o, Path) for o in outcomes)


@pytest.mark.parametrize(
    ("template", "names"),
    [
        ("{id}-{index}{ext}", ["pred1-0.png", "pred1-1.png", "pred1-2.png"]),
        ("{stem}{ext}", ["out.png", "out-1.png", "cover.png"]),
        ("{index:03d}_{stem}{ext}", ["000_out.png", "001_out.png", "002_cover.png"]),
        ("{id}/{stem}{ext}", ["pred1_out.png", "pred1_out-1.png", "pred1_cover.png"]),
        ("result.png", ["result.png", "result-1.png", "result-2.png"]),
    ],
)
def test_name_templates(make: Any, tmp_path: Path, template: str, names: list[str]) -> None:
    client, _ = make([serve()])
    urls = [f"{CDN}/a/out.png", f"{CDN}/b/out.png", f"{CDN}/cover.png"]
    paths = call(client, "download", with_output(urls), tmp_path, name=template)
    assert [p.name for p in paths] == names
    assert [p.read_bytes() for p in paths] == [u.encode() for u in urls]


def test_names_are_unique_case_insensitively_and_data_urls_are_output(
    make: Any, tmp_path: Path
) -> None:
    client, _ = make([serve()])
    urls = [f"{CDN}/a/Out.PNG", f"{CDN}/b/out.png", "data:text/plain,x"]
    paths = call(client, "download", with_output(urls), tmp_path, name="{stem}{ext}")
    assert [p.name for p in paths] == ["Out.PNG", "out-1.png", "output.txt"]


@pytest.mark.parametrize(
    "template", ["{foo}{ext}", "{0}", "{}", "", "{id", "{id.__class__}", "{id:d}"]
)
def test_a_bad_template_is_refused_before_anything_happens(
    make: Any, tmp_path: Path, template: str
) -> None:
    client, api = make([serve()])
    with pytest.raises(ValueError, match="name"):
        call(client, "download", "pred1", tmp_path / "out", name=template)
    assert api.requests == [] and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("CON.png", "_CON.png"),
        ("nul", "_nul"),
        ("COM1.txt", "_COM1.txt"),
        ("lpt9.tar.gz", "_lpt9.tar.gz"),
        ("report...", "report"),
        ("name. . .png", "name._._.png"),
        ("café.png", "café.png"),
        ("日本語の画像.png", "日本語の画像.png"),
        ("Ελληνικά.webp", "Ελληνικά.webp"),
        ("cafe\u0301.png", "café.png"),
        ('a<b>c:d|e?f*g"h.png', "a_b_c_d_e_f_g_h.png"),
        ("evil\u202egnp.exe", "evil_gnp.exe"),
        ("..%2F..%2Fetc%2Fpasswd", "etc_passwd"),
        ("-rf", "rf"),
        ("~user", "user"),
        ("__init__.py", "init__.py"),
        ("%00%01", "output"),
    ],
)
def test_names_are_safe_everywhere_and_keep_letters(
    make: Any, tmp_path: Path, stem: str, expected: str
) -> None:
    client, _ = make([serve()])
    url = f"{CDN}/{urllib.parse.quote(stem, safe='%')}"
    (path,) = call(client, "download", with_output(url), tmp_path, name="{stem}{ext}")
    assert path.name == expected and path.parent == tmp_path.resolve()


def test_long_names_fit_in_255_utf8_bytes_and_keep_the_extension(make: Any, tmp_path: Path) -> None:
    client, _ = make([serve()])
    long = urllib.parse.quote("é" * 300) + ".png"
    paths = call(
        client, "download", with_output([f"{CDN}/{long}"] * 3), tmp_path, name="{stem}{ext}"
    )
    for path in paths:
        assert len(path.name.encode()) <= 255 and path.name.endswith(".png")
        assert path.name.startswith("éé")
    assert len({p.name for p in paths}) == 3


# --- files -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_files_are_created_with_the_process_umask(
    make: Any, tmp_path: Path, umask: int, mode: int
) -> None:
    client, _ = make([serve()])
    old = os.umask(umask)
    try:
        paths = call(client, "download", with_output([f"{CDN}/a.png", "data:,x"]), tmp_path)
        paths += call(client, "download", with_output([f"{CDN}/a.png"]), tmp_path, overwrite=True)
    finally:
        os.umask(old)
    assert {stat.S_IMODE(p.stat().st_mode) for p in paths} == {mode}


@pytest.mark.parametrize("broken", ["unsupported", "missing"])
def test_no_clobber_without_hard_links(
    make: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    def no_link(source: Any, destination: Any) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    if broken == "missing":
        monkeypatch.delattr(os, "link")
    else:
        monkeypatch.setattr(os, "link", no_link)
    client, _ = make([serve()])
    old = os.umask(0o022)
    try:
        (path,) = call(client, "download", with_output(f"{CDN}/x.png"), tmp_path)
    finally:
        os.umask(old)
    assert path.read_bytes() == f"{CDN}/x.png".encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        call(client, "download", with_output(f"{CDN}/x.png"), tmp_path)
    assert path.read_bytes() == b"mine"
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "no temporary file left"


def test_a_file_appearing_meanwhile_is_never_replaced(make: Any, tmp_path: Path) -> None:
    target = tmp_path / "pred1-1.png"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("b.png"):
            target.write_bytes(b"someone else's")
        return httpx.Response(200, content=PNG)

    client, _ = make([handler])
    with pytest.raises(FileExistsError):
        call(client, "download", with_output([f"{CDN}/a.png", f"{CDN}/b.png"]), tmp_path)
    assert target.read_bytes() == b"someone else's"
    assert [p.name for p in tmp_path.iterdir()] == [target.name], "all or nothing"


@pytest.mark.parametrize(
    "prediction",
    [
        with_output([f"{CDN}/x.png"], status="failed"),
        with_output([f"{CDN}/x.png"], data_removed=True),
        with_output("text"),
    ],
    ids=["failed", "removed", "text"],
)
def test_the_folder_is_created_only_for_a_downloadable_prediction(
    make: Any, tmp_path: Path, prediction: Prediction
) -> None:
    client, _ = make([serve()])
    with pytest.raises(OutputUnavailableError):
        call(client, "download", prediction, tmp_path / "a" / "b")
    assert list(tmp_path.iterdir()) == []


def test_a_file_where_the_folder_should_be(make: Any, tmp_path: Path) -> None:
    (tmp_path / "out").write_bytes(b"")
    client, api = make([serve()])
    with pytest.raises(NotADirectoryError):
        call(client, "download", with_output(f"{CDN}/x.png"), tmp_path / "out")
    assert api.requests == []


# --- sync and async fail the same way --------------------------------------------------------


def test_one_failing_file_fails_the_download_and_leaves_the_folder_as_it_was(
    make: Any, tmp_path: Path
) -> None:
    (tmp_path / "pred1-0.png").write_bytes(b"old")
    urls = [f"{CDN}/a.png", f"{CDN}/b.png", f"{CDN}/gone.png", f"{CDN}/c.png", f"{CDN}/d.png"]
    client, _ = make([serve({u: PNG for u in urls if "gone" not in u})])
    with pytest.raises(NotFoundError):
        call(client, "download", with_output(urls), tmp_path, overwrite=True)
    assert [(p.name, p.read_bytes()) for p in tmp_path.iterdir()] == [("pred1-0.png", b"old")]
    with pytest.raises(NotFoundError):
        call(client, "download", with_output(urls), tmp_path / "new")
    assert list((tmp_path / "new").iterdir()) == []


def test_async_downloads_write_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writers: set[int] = set()
    write = staging.Staged.write

    def recording(self: Any, chunks: Any) -> None:
        writers.add(threading.get_ident())
        write(self, chunks)

    monkeypatch.setattr(staging.Staged, "write", recording)
    big = os.urandom(3 * dl.WRITE_BATCH + 12345)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=big))

    async def main() -> tuple[int, list[Path]]:
        http = httpx.AsyncClient(transport=transport)
        async with AsyncClient(api_key=KEY, base_url=BASE, http_client=http) as client:
            prediction = with_output([f"{CDN}/big.bin", "data:,small"])
            return threading.get_ident(), await client.predictions.download(prediction, tmp_path)

    loop_thread, (path, small) = asyncio.run(main())
    assert path.read_bytes() == big and small.read_bytes() == b"small"
    assert writers and loop_thread not in writers


CHUNK = 64 * 1024


class Chunked(httpx.AsyncByteStream):
    """``data`` in 64 KiB chunks, as a socket delivers a large body; ``before_each(sent)`` is
    called before each chunk with the number of bytes already delivered."""

    def __init__(self, data: bytes, before_each: Any = lambda sent: None) -> None:
        self.data, self.before_each = data, before_each

    async def __aiter__(self) -> Any:
        for start in range(0, len(self.data), CHUNK):
            self.before_each(start)
            yield self.data[start : start + CHUNK]


def _download_streamed(
    tmp_path: Path, body: Chunked, headers: dict[str, str] | None = None
) -> tuple[int, list[Path]]:
    """Download one file served as ``body`` with an async client; the loop's thread, the paths."""
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, stream=body, headers=headers)
    )

    async def main() -> tuple[int, list[Path]]:
        http = httpx.AsyncClient(transport=transport)
        async with AsyncClient(api_key=KEY, base_url=BASE, http_client=http) as client:
            prediction = with_output([f"{CDN}/big.bin"])
            return threading.get_ident(), await client.predictions.download(prediction, tmp_path)

    return asyncio.run(main())


def test_a_slow_disk_holds_an_async_download_back_and_the_loop_never_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk slower than the network: the download reads at most a few batches ahead of what
    is written (bounded memory), and every write happens off the event loop's thread."""
    written, writers, ahead = 0, set[int](), list[int]()
    write = staging.Staged.write

    def slow(self: Any, chunks: Any) -> None:
        nonlocal written
        writers.add(threading.get_ident())
        time.sleep(0.002)  # the device is busy
        chunks = list(chunks)
        write(self, chunks)
        written += sum(map(len, chunks))

    monkeypatch.setattr(staging.Staged, "write", slow)
    big = os.urandom(10 * dl.WRITE_BATCH + 12345)
    loop_thread, [path] = _download_streamed(
        tmp_path, Chunked(big, lambda sent: ahead.append(sent - written))
    )
    assert path.read_bytes() == big
    assert writers and loop_thread not in writers
    assert max(ahead) <= (dl.WRITES_QUEUED + 1) * (dl.WRITE_BATCH + CHUNK)


def test_an_encoded_body_is_saved_decoded_by_an_async_download(tmp_path: Path) -> None:
    import gzip

    data = os.urandom(3 * dl.WRITE_BATCH) + b"x" * dl.WRITE_BATCH
    encoded = gzip.compress(data)
    headers = {"content-encoding": "gzip", "content-length": str(len(encoded))}
    _, [path] = _download_streamed(tmp_path, Chunked(encoded), headers)
    assert path.read_bytes() == data


def test_a_full_disk_fails_an_async_download_with_its_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    write = staging.Staged.write

    def filling(self: Any, chunks: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        write(self, chunks)

    monkeypatch.setattr(staging.Staged, "write", filling)
    with pytest.raises(OSError, match="No space left") as raised:
        _download_streamed(tmp_path, Chunked(os.urandom(10 * dl.WRITE_BATCH)))
    assert raised.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []
    assert calls == 3  # nothing more is written to a file that failed


class CutAfter(Chunked):
    """``data`` in 64 KiB chunks, the connection dropped after ``cut`` bytes."""

    def __init__(self, data: bytes, cut: int) -> None:
        super().__init__(data[:cut])

    async def __aiter__(self) -> Any:
        async for chunk in super().__aiter__():
            yield chunk
        raise httpx.RemoteProtocolError("peer closed connection")


def test_an_async_download_cut_after_megabytes_starts_its_file_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry starts the temporary file over: the megabytes the writer thread wrote for the
    first attempt leave nothing behind."""
    monkeypatch.setattr(dl, "WRITES_QUEUED", 0)  # each batch is on disk before the next is read
    body = os.urandom(5 * dl.WRITE_BATCH + 123)
    bodies = [CutAfter(body[::-1], 3 * dl.WRITE_BATCH + 5), Chunked(body)]
    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=bodies.pop(0)))

    async def main() -> list[Path]:
        http = httpx.AsyncClient(transport=transport)
        client = AsyncClient(api_key=KEY, base_url=BASE, http_client=http, clock=FakeClock())
        async with client:
            return await client.predictions.download(with_output([f"{CDN}/big.bin"]), tmp_path)

    [path] = asyncio.run(main())
    assert path.read_bytes() == body and bodies == []
    assert list(tmp_path.iterdir()) == [path]


def test_a_download_cancelled_during_a_write_waits_for_it_and_drops_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled while its writer thread is in a write and more batches wait: the task ends
    only after that write (the file is never closed under it), the waiting batches are never
    written, and the folder is left as it was."""
    writing, release = threading.Event(), threading.Event()
    calls = 0
    write = staging.Staged.write

    def blocking(self: Any, chunks: Any) -> None:
        nonlocal calls
        calls += 1
        writing.set()
        release.wait()
        write(self, chunks)

    monkeypatch.setattr(staging.Staged, "write", blocking)
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, stream=Chunked(os.urandom(10 * dl.WRITE_BATCH)))
    )

    async def main() -> None:
        http = httpx.AsyncClient(transport=transport)
        async with AsyncClient(api_key=KEY, base_url=BASE, http_client=http) as client:
            prediction = with_output([f"{CDN}/big.bin"])
            task = asyncio.create_task(client.predictions.download(prediction, tmp_path))
            await asyncio.get_running_loop().run_in_executor(None, writing.wait)
            for _ in range(20):  # the loop reads ahead until the queue is full, then waits
                await asyncio.sleep(0)
            task.cancel()
            for _ in range(20):
                await asyncio.sleep(0)
            assert not task.done()  # still waiting for the write under way
            release.set()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    assert calls == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "writev"), reason="the system has no writev")
def test_staged_writes_survive_short_writes_and_many_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``writev`` may write less than asked (a disk filling up) and takes at most ``IOV_MAX``
    buffers: every byte still lands, in order; empty chunks are skipped."""
    real = os.writev

    def short(fd: int, buffers: list[Any]) -> int:
        assert len(buffers) <= staging._IOV_MAX
        asked = b"".join(bytes(buffer) for buffer in buffers)
        return real(fd, [asked[: max(1, len(asked) // 3)]])  # a prefix of what was asked

    monkeypatch.setattr(staging, "_writev", short)
    chunks = [os.urandom(n) for n in (1, 0, 1000, 65536, 7)] + [b"ab"] * 3000
    staged = staging.Staged(tmp_path / "out.bin")
    staged.write(chunks)
    staged.write([b"end"])
    [path] = staging.commit_all([staged], overwrite=False)
    assert path.read_bytes() == b"".join(chunks) + b"end"


# --- the urls the API hands out are never followed ---------------------------------------------


def test_no_request_ever_goes_to_replicates_hosts(kind: str, tmp_path: Path) -> None:
    """CometAPI's predictions carry ``urls.get/cancel/stream`` on api.replicate.com and
    stream.replicate.com: every request of a whole session goes to the API or the files."""
    sandbox = Sandbox(queue=0.02, run=0.05)
    hosts: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return sandbox.transport().handle_request(request)

    async def arecord(request: httpx.Request) -> httpx.Response:
        return record(request)

    if kind == "sync":
        http = httpx.Client(transport=httpx.MockTransport(record))
        with Client(**sandbox.client_kwargs(), http_client=http) as client:
            created = client.predictions.create("o/m", {"num_outputs": 2})
            assert "replicate.com" in created.to_dict()["urls"]["get"]
            states = list(client.predictions.watch(created))
            done = client.run("o/m", {"sandbox_output": {"a": "$file0", "b": ["$file1"]}})
            client.predictions.download(states[-1], tmp_path)
            client.predictions.download(done.id, tmp_path)
            client.predictions.read_output(done, 1)
            with client.predictions.stream_output(done.id) as chunks:
                b"".join(chunks)
    else:

        async def main() -> None:
            http = httpx.AsyncClient(transport=httpx.MockTransport(arecord))
            async with AsyncClient(**sandbox.client_kwargs(), http_client=http) as client:
                created = await client.predictions.create("o/m", {"num_outputs": 2})
                states = [s async for s in client.predictions.watch(created)]
                done = await client.run("o/m", {"sandbox_output": {"a": "$file0", "b": ["$file1"]}})
                await client.predictions.download(states[-1], tmp_path)
                await client.predictions.download(done.id, tmp_path)
                await client.predictions.read_output(done, 1)
                async with client.predictions.stream_output(done.id) as chunks:
                    [c async for c in chunks]

        asyncio.run(main())
    assert len(list(tmp_path.iterdir())) == 4
    assert set(hosts) == {"api.sandbox.invalid", "files.sandbox.invalid"}


class Hanging(httpx.AsyncByteStream):
    """One chunk, then nothing until cancelled."""

    def __init__(self, started: asyncio.Event) -> None:
        self.started = started

    async def __aiter__(self) -> Any:
        yield b"first chunk"
        self.started.set()
        await asyncio.Event().wait()


def test_a_cancelled_async_download_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    slow_started: asyncio.Event

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("slow.png"):
            return httpx.Response(200, stream=Hanging(slow_started))
        return httpx.Response(200, content=PNG)

    async def main() -> None:
        nonlocal slow_started
        slow_started = asyncio.Event()
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with AsyncClient(api_key=KEY, base_url=BASE, http_client=http) as client:
            prediction = with_output([f"{CDN}/a.png", f"{CDN}/slow.png", f"{CDN}/b.png"])
            task = asyncio.create_task(client.predictions.download(prediction, tmp_path))
            await slow_started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_sync_download_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("b.png"):
            raise KeyboardInterrupt
        return httpx.Response(200, content=PNG)

    transport = httpx.MockTransport(handler)
    with Client(api_key=KEY, base_url=BASE, http_client=httpx.Client(transport=transport)) as c:
        prediction = with_output([f"{CDN}/a.png", f"{CDN}/b.png", f"{CDN}/c.png"])
        with pytest.raises(KeyboardInterrupt):
            c.predictions.download(prediction, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_after_some_files_completed_drops_them_too(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (sync) or a cancellation (async) arriving once every file is staged."""
    import concurrent.futures

    wait, await_all = concurrent.futures.wait, asyncio.wait

    def interrupted(futures: Any, return_when: Any = None) -> Any:
        wait(futures)
        raise KeyboardInterrupt

    async def cancelled(tasks: Any, return_when: Any = None) -> Any:
        await await_all(tasks)
        if return_when is not None:
            raise asyncio.CancelledError
        return None

    monkeypatch.setattr(concurrent.futures, "wait", interrupted)
    monkeypatch.setattr(asyncio, "wait", cancelled)
    client = Facade(kind, lambda request: httpx.Response(200, content=PNG), FakeClock())
    with pytest.raises((KeyboardInterrupt, asyncio.CancelledError)):
        call(client, "download", with_output([f"{CDN}/a.png", f"{CDN}/b.png"]), tmp_path)
    assert list(tmp_path.iterdir()) == []


# --- the generated model ---------------------------------------------------------------------


def test_a_create_answered_201_parses_like_a_200(make: Any) -> None:
    """Replicate's own API answers a create with 201 Created; CometAPI documents 200."""
    body = prediction_body("starting", output=None)
    client, api = make([json_response(body, 201)])
    created = call(client, "create", "o/m", {"prompt": "x"})
    assert isinstance(created, Prediction) and created.status == "starting"
    assert len(api.requests) == 1, "a 201 is a success, not a failure to retry"


@pytest.mark.parametrize("output", [42, {"text": "hi", "video": CDN}, [{"file": CDN}], "text"])
def test_any_json_output_round_trips_through_the_model(output: Any) -> None:
    prediction = with_output(output)
    assert prediction.output == output
    assert Prediction.from_dict(prediction.to_dict()).output == output


# --- Ctrl-C over real sockets ----------------------------------------------------------------

INTERRUPTIBLE = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the suite ignores SIGINT
from cometapi_replicate import Client, Prediction
prediction = Prediction.from_dict({"id": "pred1", "status": "succeeded", "output": sys.argv[2:]})
with Client(api_key="k", base_url="http://127.0.0.1:9", timeout=600) as client:
    try:
        client.predictions.download(prediction, sys.argv[1])
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
"""


class StallingFiles(http.server.ThreadingHTTPServer):
    """``/ok-N.png`` whole; ``/stall.png``: its headers and 10 of 1,000 bytes, then nothing
    until ``release`` (a read timeout of 600 s would be the only other way out)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.served: list[str] = []
        self.stalled, self.release = threading.Event(), threading.Event()
        super().__init__(("127.0.0.1", 0), self.Handler)

    class Handler(http.server.BaseHTTPRequestHandler):
        server: StallingFiles

        def do_GET(self) -> None:
            stall = self.path == "/stall.png"
            self.send_response(200)
            self.send_header("Content-Length", "1000" if stall else str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG[:10] if stall else PNG)
            self.wfile.flush()
            self.server.served.append(self.path)
            if stall:
                self.server.stalled.set()
                self.server.release.wait(120)

        def log_message(self, format: str, *args: Any) -> None:
            pass


def test_ctrl_c_while_the_workers_start_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C can land while the download's workers are still being started, after the first
    one has begun its file (a busy machine): that file is dropped too."""
    files = StallingFiles()
    threading.Thread(target=files.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{files.server_address[1]}"
    folder = tmp_path / "out"
    started = 0

    class SlowToStart(threading.Thread):
        def start(self) -> None:
            nonlocal started
            started += 1
            if started == 2:  # the first worker is on its file: Ctrl-C now
                assert files.stalled.wait(30), "the first file was never requested"
                raise KeyboardInterrupt
            super().start()

    monkeypatch.setattr(threading, "Thread", SlowToStart)
    prediction = Prediction.from_dict(
        {"id": "pred1", "status": "succeeded", "output": [f"{origin}/stall.png"] * 2}
    )
    try:
        with Client(api_key="k", base_url="http://127.0.0.1:9", timeout=600) as client:
            with pytest.raises(KeyboardInterrupt):
                client.predictions.download(prediction, folder)
            # the first worker is still blocked in its read: nothing of it may be left
            assert list(folder.iterdir()) == [], "no file, not even a temporary one"
    finally:
        files.release.set()
        files.shutdown()
        files.server_close()


def test_ctrl_c_stops_a_sync_download_at_once_and_leaves_no_file(tmp_path: Path) -> None:
    """One file stalls mid-body: Ctrl-C must not wait for its read to time out, and the files
    already complete are not left behind either (all or nothing)."""
    files = StallingFiles()
    threading.Thread(target=files.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{files.server_address[1]}"
    urls = [f"{origin}/ok-0.png", f"{origin}/stall.png", f"{origin}/ok-2.png"]
    folder = tmp_path / "out"
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", INTERRUPTIBLE, str(folder), *urls],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert files.stalled.wait(60), "the stalling file was never requested"
            while len(files.served) < 3 and child.poll() is None:
                files.release.wait(0.05)  # the two whole files are sent too
            child.send_signal(signal.SIGINT)
            out, err = child.communicate(timeout=60)
        finally:
            child.kill()
    finally:
        files.release.set()
        files.shutdown()
        files.server_close()
    assert child.returncode == 130 and out == "interrupted\n", err
    assert sorted(files.served) == ["/ok-0.png", "/ok-2.png", "/stall.png"]
    assert list(folder.iterdir()) == [], "no file, not even a temporary one"


class Recording(httpx.BaseTransport):
    """The real network transport, noting the host and port of every request it sends."""

    def __init__(self) -> None:
        self.real, self.origins = httpx.HTTPTransport(), set[str]()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.origins.add(f"{request.url.host}:{request.url.port}")
        return self.real.handle_request(request)

    def close(self) -> None:
        self.real.close()


def test_over_loopback_no_request_goes_to_replicates_hosts(tmp_path: Path) -> None:
    """The same session over real sockets: the sandbox's API and file server on 127.0.0.1,
    its predictions' ``urls`` on Replicate's hosts, which no request may reach."""
    from cometapi_replicate.testing import SandboxServer

    recording = Recording()
    with SandboxServer(Sandbox(queue=0.02, run=0.05), host="127.0.0.1") as server:
        sandbox = server.sandbox
        http = httpx.Client(transport=recording)
        with Client(**sandbox.client_kwargs(), http_client=http) as client:
            created = client.predictions.create("o/m", {"num_outputs": 2})
            assert "api.replicate.com" in created.to_dict()["urls"]["get"]
            done = client.predictions.wait(created)
            paths = client.predictions.download(done, tmp_path)
            assert client.predictions.read_output(done.id, 1) == paths[1].read_bytes()
        http.close()
    api, files = httpx.URL(sandbox.api_url), httpx.URL(sandbox.files_url)
    assert recording.origins == {f"127.0.0.1:{api.port}", f"127.0.0.1:{files.port}"}
