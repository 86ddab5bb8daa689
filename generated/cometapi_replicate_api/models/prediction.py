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
        completed_at (None | str | Unset):
        created_at (str | Unset):
        data_removed (bool | Unset):
        error (None | str | Unset):
        input_ (PredictionInput | Unset):
        logs (str | Unset):
        metrics (PredictionMetrics | Unset):
        model (str | Unset):
        output (Any | Unset):
        started_at (None | str | Unset):
        urls (PredictionUrls | Unset):
        version (str | Unset):
    """

    id: str
    status: str
    completed_at: None | str | Unset = UNSET
    created_at: str | Unset = UNSET
    data_removed: bool | Unset = UNSET
    error: None | str | Unset = UNSET
    input_: PredictionInput | Unset = UNSET
    logs: str | Unset = UNSET
    metrics: PredictionMetrics | Unset = UNSET
    model: str | Unset = UNSET
    output: Any | Unset = UNSET
    started_at: None | str | Unset = UNSET
    urls: PredictionUrls | Unset = UNSET
    version: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        status = self.status

        completed_at: None | str | Unset
        if isinstance(self.completed_at, Unset):
            completed_at = UNSET
        else:
            completed_at = self.completed_at

        created_at = self.created_at

        data_removed = self.data_removed

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        input_: dict[str, Any] | Unset = UNSET
        if not isinstance(self.input_, Unset):
            input_ = self.input_.to_dict()

        logs = self.logs

        metrics: dict[str, Any] | Unset = UNSET
        if not isinstance(self.metrics, Unset):
            metrics = self.metrics.to_dict()

        model = self.model

        output = self.output

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        else:
            started_at = self.started_at

        urls: dict[str, Any] | Unset = UNSET
        if not isinstance(self.urls, Unset):
            urls = self.urls.to_dict()

        version = self.version

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
            completed_at=completed_at,
            created_at=created_at,
            data_removed=data_removed,
            error=error,
            input_=input_,
            logs=logs,
            metrics=metrics,
            model=model,
            output=output,
            started_at=started_at,
            urls=urls,
            version=version,
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
