from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PredictionMetrics")


@_attrs_define
class PredictionMetrics:
    """
    Attributes:
        image_count (int | None):
        predict_time (float | None):
    """

    image_count: int | None = None
    predict_time: float | None = None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        image_count: int | Unset = (
            UNSET if self.image_count is None else self.image_count
        )

        predict_time: float | Unset = (
            UNSET if self.predict_time is None else self.predict_time
        )

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if image_count is not UNSET:
            field_dict["image_count"] = image_count
        if predict_time is not UNSET:
            field_dict["predict_time"] = predict_time

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        image_count = d.pop("image_count", UNSET)

        predict_time = d.pop("predict_time", UNSET)

        prediction_metrics = cls(
            image_count=None if isinstance(image_count, Unset) else image_count,
            predict_time=None if isinstance(predict_time, Unset) else predict_time,
        )

        prediction_metrics.additional_properties = d
        return prediction_metrics

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
