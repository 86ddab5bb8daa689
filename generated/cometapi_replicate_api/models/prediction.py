from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.prediction_input import PredictionInput
    from ..models.prediction_metrics import PredictionMetrics
    from ..models.prediction_urls import PredictionUrls


T = TypeVar("T", bound="Prediction")


@_attrs_define
class Prediction:
    """
    Attributes:
        id (str):
        status (str):
        completed_at (None | str):
        created_at (str | None):
        data_removed (bool | None):
        error (None | str):
        input_ (PredictionInput | None):
        logs (str | None):
        metrics (PredictionMetrics | None):
        model (str | None):
        output (Any): The model's output: any JSON value (a URL, a list of URLs, text, a number, a list, an object),
            null until the prediction has produced something.
        started_at (None | str):
        urls (PredictionUrls | None):
        version (str | None):
    """

    id: str
    status: str
    completed_at: None | str = None
    created_at: str | None = None
    data_removed: bool | None = None
    error: None | str = None
    input_: PredictionInput | None = None
    logs: str | None = None
    metrics: PredictionMetrics | None = None
    model: str | None = None
    output: Any = None
    started_at: None | str = None
    urls: PredictionUrls | None = None
    version: str | None = None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)
    # The nullable fields from_dict did not find, so that to_dict gives back what it was given.
    _absent: frozenset[str] = _attrs_field(
        init=False, factory=frozenset, repr=False, eq=False
    )

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        status = self.status

        _completed_at: None | str | Unset = (
            UNSET
            if self.completed_at is None and "completed_at" in self._absent
            else self.completed_at
        )
        completed_at: None | str | Unset
        if isinstance(_completed_at, Unset):
            completed_at = UNSET
        else:
            completed_at = _completed_at

        created_at: str | Unset = UNSET if self.created_at is None else self.created_at

        data_removed: bool | Unset = (
            UNSET if self.data_removed is None else self.data_removed
        )

        _error: None | str | Unset = (
            UNSET if self.error is None and "error" in self._absent else self.error
        )
        error: None | str | Unset
        if isinstance(_error, Unset):
            error = UNSET
        else:
            error = _error

        _input_: PredictionInput | Unset = UNSET if self.input_ is None else self.input_
        input_: dict[str, Any] | Unset = UNSET
        if not isinstance(_input_, Unset):
            input_ = _input_.to_dict()

        logs: str | Unset = UNSET if self.logs is None else self.logs

        _metrics: PredictionMetrics | Unset = (
            UNSET if self.metrics is None else self.metrics
        )
        metrics: dict[str, Any] | Unset = UNSET
        if not isinstance(_metrics, Unset):
            metrics = _metrics.to_dict()

        model: str | Unset = UNSET if self.model is None else self.model

        output: Any | Unset = (
            UNSET if self.output is None and "output" in self._absent else self.output
        )

        _started_at: None | str | Unset = (
            UNSET
            if self.started_at is None and "started_at" in self._absent
            else self.started_at
        )
        started_at: None | str | Unset
        if isinstance(_started_at, Unset):
            started_at = UNSET
        else:
            started_at = _started_at

        _urls: PredictionUrls | Unset = UNSET if self.urls is None else self.urls
        urls: dict[str, Any] | Unset = UNSET
        if not isinstance(_urls, Unset):
            urls = _urls.to_dict()

        version: str | Unset = UNSET if self.version is None else self.version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
            }
        )
        if completed_at is not UNSET:
            field_dict["completed_at"] = completed_at
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if data_removed is not UNSET:
            field_dict["data_removed"] = data_removed
        if error is not UNSET:
            field_dict["error"] = error
        if input_ is not UNSET:
            field_dict["input"] = input_
        if logs is not UNSET:
            field_dict["logs"] = logs
        if metrics is not UNSET:
            field_dict["metrics"] = metrics
        if model is not UNSET:
            field_dict["model"] = model
        if output is not UNSET:
            field_dict["output"] = output
        if started_at is not UNSET:
            field_dict["started_at"] = started_at
        if urls is not UNSET:
            field_dict["urls"] = urls
        if version is not UNSET:
            field_dict["version"] = version

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.prediction_input import PredictionInput
        from ..models.prediction_metrics import PredictionMetrics
        from ..models.prediction_urls import PredictionUrls

        d = dict(src_dict)
        id = d.pop("id")

        status = d.pop("status")

        def _parse_completed_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        completed_at = _parse_completed_at(d.pop("completed_at", UNSET))

        created_at = d.pop("created_at", UNSET)

        data_removed = d.pop("data_removed", UNSET)

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        _input_ = d.pop("input", UNSET)
        input_: PredictionInput | Unset
        if isinstance(_input_, Unset):
            input_ = UNSET
        else:
            input_ = PredictionInput.from_dict(_input_)

        logs = d.pop("logs", UNSET)

        _metrics = d.pop("metrics", UNSET)
        metrics: PredictionMetrics | Unset
        if isinstance(_metrics, Unset):
            metrics = UNSET
        else:
            metrics = PredictionMetrics.from_dict(_metrics)

        model = d.pop("model", UNSET)

        output = d.pop("output", UNSET)

        def _parse_started_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        started_at = _parse_started_at(d.pop("started_at", UNSET))

        _urls = d.pop("urls", UNSET)
        urls: PredictionUrls | Unset
        if isinstance(_urls, Unset):
            urls = UNSET
        else:
            urls = PredictionUrls.from_dict(_urls)

        version = d.pop("version", UNSET)

        prediction = cls(
            id=id,
            status=status,
            completed_at=None if isinstance(completed_at, Unset) else completed_at,
            created_at=None if isinstance(created_at, Unset) else created_at,
            data_removed=None if isinstance(data_removed, Unset) else data_removed,
            error=None if isinstance(error, Unset) else error,
            input_=None if isinstance(input_, Unset) else input_,
            logs=None if isinstance(logs, Unset) else logs,
            metrics=None if isinstance(metrics, Unset) else metrics,
            model=None if isinstance(model, Unset) else model,
            output=None if isinstance(output, Unset) else output,
            started_at=None if isinstance(started_at, Unset) else started_at,
            urls=None if isinstance(urls, Unset) else urls,
            version=None if isinstance(version, Unset) else version,
        )
        prediction._absent = frozenset(
            key
            for key in (
                "completed_at",
                "error",
                "output",
                "started_at",
            )
            if key not in src_dict
        )

        prediction.additional_properties = d
        return prediction

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
