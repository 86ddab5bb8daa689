"""create, run and download on httpx.MockTransport, sync and async."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from cometapi_replicate import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    NotFoundError,
    OutputUnavailableError,
    Prediction,
    PredictionFailedError,
)
from cometapi_replicate._inputs import encode_input

from ..conftest import BASE, KEY, FakeClock, json_response, prediction_body

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
CDN = "https://replicate.delivery/xezq/abc"


def succeeded(*urls: str, **extra: Any) -> Prediction:
    return Prediction.from_dict(prediction_body("succeeded", output=list(urls), **extra))


# --- create ----------------------------------------------------------------------------------


def test_create_sends_the_model_id_as_two_literal_segments_and_the_input(make: Any) -> None:
    client, api = make([prediction_body("starting")])
    result = client._run(
        client.client.predictions.create(
            "black-forest-labs/flux-schnell", {"prompt": "a boat", "num_inference_steps": 4}
        )
    )
    assert result.status == "starting"
    (request,) = api.requests
    assert request.method == "POST"
    assert (
        request.url.raw_path == b"/replicate/v1/models/black-forest-labs/flux-schnell/predictions"
    )
    assert json.loads(request.content) == {"input": {"prompt": "a boat", "num_inference_steps": 4}}
    assert request.headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    "model",
    [
        "flux-schnell",
        "a/b/c",
        "owner/",
        "/name",
        "../x",
        "owner/..",
        "own er/name",
        "owner/na%2Fme",
        "owner/name?x",
        "o/n#f",
        "",
        "owner/name:v1",
    ],
)
def test_bad_model_names_send_nothing(make: Any, model: str) -> None:
    client, api = make([prediction_body("starting")])
    with pytest.raises(ValueError, match="owner/name"):
        client._run(client.client.predictions.create(model, {}))
    assert api.requests == []


def test_path_bytes_and_files_become_data_urls(make: Any, tmp_path: Path) -> None:
    image = tmp_path / "photo.png"
    image.write_bytes(PNG)
    client, api = make([prediction_body("starting")])
    with image.open("rb") as handle:
        client._run(
            client.client.predictions.create(
                "o/m", {"image": image, "mask": PNG, "ref": handle, "list": [image], "n": 1}
            )
        )
    sent = json.loads(api.requests[0].content)["input"]
    expected = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert sent == {
        "image": expected,
        "mask": expected,
        "ref": expected,
        "list": [expected],
        "n": 1,
    }


def test_unknown_bytes_are_octet_stream() -> None:
    assert encode_input(b"\x01\x02").startswith("data:application/octet-stream;base64,")


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("slow"),
        json_response({"error": {"message": "bad gateway"}}, 502),
        json_response({}, 500),
    ],
)
def test_create_is_not_retried_when_it_may_have_reached_the_server(make: Any, failure: Any) -> None:
    client, api = make([failure, prediction_body("starting")], max_retries=3)
    with pytest.raises((APITimeoutError, InternalServerError)):
        client._run(client.client.predictions.create("o/m", {}))
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        json_response({"detail": "throttled"}, 429, **{"retry-after": "2"}),
    ],
)
def test_create_is_retried_when_it_cannot_have_created_anything(make: Any, failure: Any) -> None:
    client, api = make([failure, prediction_body("starting")], max_retries=3)
    assert client._run(client.client.predictions.create("o/m", {})).status == "starting"
    assert len(api.requests) == 2


def test_run_creates_waits_and_returns_the_succeeded_prediction(make: Any) -> None:
    client, api = make(
        [
            prediction_body("starting"),
            prediction_body("processing"),
            prediction_body("succeeded", output=f"{CDN}/out.png"),
        ]
    )
    updates: list[str] = []
    result = client._run(
        client.client.run("o/m", {"prompt": "x"}, on_update=lambda p: updates.append(p.status))
    )
    assert result.status == "succeeded"
    assert [r.method for r in api.requests] == ["POST", "GET", "GET"]
    assert updates == ["starting", "processing", "succeeded"]


def test_run_raises_when_the_prediction_fails(make: Any) -> None:
    client, _ = make([prediction_body("starting"), prediction_body("failed", error="NSFW")])
    with pytest.raises(PredictionFailedError, match="NSFW") as info:
        client._run(client.client.run("o/m", {}))
    assert info.value.prediction.status == "failed"


# --- download --------------------------------------------------------------------------------


def files_api(files: dict[str, Any]) -> Any:
    """A handler serving ``files`` by URL (bytes, a Response, or a callable)."""

    def handler(request: httpx.Request) -> httpx.Response:
        item = files.get(str(request.url), httpx.Response(404))
        if callable(item):
            item = item(request)
        if isinstance(item, bytes):
            return httpx.Response(200, content=item, headers={"content-length": str(len(item))})
        return httpx.Response(item.status_code, headers=item.headers, content=item.read())

    return handler


def download(client: Any, *args: Any, **kwargs: Any) -> list[Path]:
    paths: list[Path] = client._run(client.client.predictions.download(*args, **kwargs))
    return paths


def test_download_saves_outputs_in_order_without_sending_the_key(make: Any, tmp_path: Path) -> None:
    client, api = make(
        [files_api({f"{CDN}/a.png": PNG, f"{CDN}/b.png": b"second", f"{CDN}/c.webp": b"third"})]
    )
    paths = download(
        client, succeeded(f"{CDN}/a.png", f"{CDN}/b.png", f"{CDN}/c.webp"), tmp_path / "out"
    )
    assert [p.name for p in paths] == ["pred1-0.png", "pred1-1.png", "pred1-2.webp"]
    assert [p.read_bytes() for p in paths] == [PNG, b"second", b"third"]
    assert all("authorization" not in r.headers for r in api.requests)
    assert sorted(x.name for x in (tmp_path / "out").iterdir()) == [p.name for p in paths]


def test_download_by_id_fetches_the_prediction_first(make: Any, tmp_path: Path) -> None:
    body = prediction_body("succeeded", output=f"{CDN}/one.png")
    client, api = make(
        [
            files_api(
                {
                    f"{BASE}/replicate/v1/predictions/pred1": json_response(body),
                    f"{CDN}/one.png": PNG,
                }
            )
        ]
    )
    (path,) = download(client, "pred1", tmp_path)
    assert path.read_bytes() == PNG
    assert api.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert "authorization" not in api.requests[1].headers


def test_a_cross_origin_redirect_drops_the_key(make: Any, tmp_path: Path) -> None:
    own = f"{BASE}/files/x.png"
    client, api = make(
        [
            files_api(
                {
                    own: httpx.Response(302, headers={"location": f"{CDN}/x.png"}),
                    f"{CDN}/x.png": PNG,
                }
            )
        ]
    )
    (path,) = download(client, succeeded(own), tmp_path)
    assert path.read_bytes() == PNG
    assert api.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert str(api.requests[1].url) == f"{CDN}/x.png"
    assert "authorization" not in api.requests[1].headers


def test_data_urls_are_saved(make: Any, tmp_path: Path) -> None:
    client, api = make([files_api({})])
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    (path,) = download(client, succeeded(url), tmp_path)
    assert path.name == "pred1-0.png" and path.read_bytes() == PNG
    assert api.requests == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://host/x.png", "javascript:alert(1)", "/relative/x.png"]
)
def test_other_schemes_are_text_never_fetched(make: Any, tmp_path: Path, url: str) -> None:
    client, api = make([files_api({f"{CDN}/ok.png": PNG})])
    (path,) = download(client, succeeded(f"{CDN}/ok.png", url), tmp_path)
    assert path.read_bytes() == PNG
    assert [str(r.url) for r in api.requests] == [f"{CDN}/ok.png"]
    with pytest.raises(OutputUnavailableError, match="no files"):
        download(client, succeeded(url), tmp_path / "other")
    assert len(api.requests) == 1 and not (tmp_path / "other").exists()


def test_hostile_names_are_made_safe_unique_and_inside_the_directory(
    make: Any, tmp_path: Path
) -> None:
    urls = [
        f"{CDN}/..%2F..%2Fetc%2Fpasswd",
        f"{CDN}/a/",
        f"{CDN}/...",
        f"{CDN}/x.png",
        f"{CDN}/y/x.png",
        f"{CDN}/" + "n" * 500 + ".png",
        f"{CDN}/.bashrc",
        f"{CDN}/a%00b.txt",
    ]
    client, _ = make([lambda request: httpx.Response(200, content=b"data")])
    out = tmp_path / "out"
    paths = download(client, succeeded(*urls), out, name="{stem}{ext}")
    names = [p.name for p in paths]
    assert len(set(n.lower() for n in names)) == len(names)
    for path in paths:
        assert path.parent == out.resolve()
        assert not path.name.startswith(".") and "/" not in path.name
        assert len(path.name.encode()) <= 255
    assert names[3:5] == ["x.png", "x-1.png"]
    assert names[5].endswith(".png")
    assert sorted(p.name for p in out.iterdir()) == sorted(names), (
        "nothing else, no temporary files"
    )


def test_a_dropped_connection_leaves_no_file(make: Any, tmp_path: Path, clock: FakeClock) -> None:
    client, api = make([lambda request: httpx.Response(200, stream=Dropping())], max_retries=1)
    with pytest.raises(APIConnectionError):
        download(client, succeeded(f"{CDN}/big.png"), tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert len(api.requests) == 2, "a transient failure is retried like any GET"


class Dropping(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __iter__(self) -> Any:
        yield b"partial"
        raise httpx.RemoteProtocolError("peer closed connection")

    async def __aiter__(self) -> Any:
        yield b"partial"
        raise httpx.RemoteProtocolError("peer closed connection")


def test_a_size_mismatch_leaves_no_file(make: Any, tmp_path: Path) -> None:
    short = lambda request: httpx.Response(200, content=b"abc", headers={"content-length": "10"})  # noqa: E731
    client, api = make([short], max_retries=2)
    with pytest.raises(APIConnectionError, match="incomplete"):
        download(client, succeeded(f"{CDN}/x.png"), tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert len(api.requests) == 3


def test_a_transient_failure_then_success(make: Any, tmp_path: Path) -> None:
    client, api = make([httpx.Response(503), lambda request: httpx.Response(200, content=PNG)])
    (path,) = download(client, succeeded(f"{CDN}/x.png"), tmp_path)
    assert path.read_bytes() == PNG and len(api.requests) == 2


def test_existing_files_are_kept_unless_overwrite(make: Any, tmp_path: Path) -> None:
    (tmp_path / "pred1-0.png").write_bytes(b"mine")
    client, api = make([lambda request: httpx.Response(200, content=PNG)])
    with pytest.raises(FileExistsError, match="overwrite=True"):
        download(client, succeeded(f"{CDN}/x.png"), tmp_path)
    assert (tmp_path / "pred1-0.png").read_bytes() == b"mine"
    assert api.requests == []
    (path,) = download(client, succeeded(f"{CDN}/x.png"), tmp_path, overwrite=True)
    assert path.read_bytes() == PNG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred1-0.png"]


@pytest.mark.parametrize(
    "prediction",
    [
        Prediction.from_dict(prediction_body("succeeded", output=None, data_removed=True)),
        Prediction.from_dict(prediction_body("succeeded", output=None)),
        Prediction.from_dict(
            prediction_body("succeeded", output=[f"{CDN}/x.png"], data_removed=True)
        ),
        Prediction.from_dict(prediction_body("failed", output=[f"{CDN}/x.png"])),
    ],
)
def test_no_output_is_an_error_not_an_empty_list(
    make: Any, tmp_path: Path, prediction: Prediction
) -> None:
    client, api = make([lambda request: httpx.Response(200, content=PNG)])
    with pytest.raises(OutputUnavailableError) as info:
        download(client, prediction, tmp_path)
    assert info.value.prediction is prediction
    assert api.requests == []


def test_a_prediction_passed_while_running_is_read_afresh_once(make: Any, tmp_path: Path) -> None:
    client, api = make([prediction_body("processing")])
    running = Prediction.from_dict(prediction_body("starting"))
    with pytest.raises(OutputUnavailableError, match="is processing, not succeeded"):
        download(client, running, tmp_path / "out")
    assert [(r.method, r.url.path) for r in api.requests] == [
        ("GET", "/replicate/v1/predictions/pred1")
    ]
    assert list(tmp_path.iterdir()) == []


def test_download_errors_from_the_file_host_are_typed(make: Any, tmp_path: Path) -> None:
    client, _ = make([lambda request: httpx.Response(404, content=b"<html>gone</html>")])
    with pytest.raises(NotFoundError, match="HTML page"):
        download(client, succeeded(f"{CDN}/x.png"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_when_one_file_fails_no_further_file_starts(
    make: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cometapi_replicate._download.MAX_PARALLEL", 1)
    client, api = make([files_api({f"{CDN}/b.png": PNG, f"{CDN}/c.png": PNG})])
    with pytest.raises(NotFoundError):
        download(client, succeeded(f"{CDN}/a.png", f"{CDN}/b.png", f"{CDN}/c.png"), tmp_path)
    assert [str(r.url) for r in api.requests] == [f"{CDN}/a.png"], "b and c were called off"
    assert list(tmp_path.iterdir()) == []
