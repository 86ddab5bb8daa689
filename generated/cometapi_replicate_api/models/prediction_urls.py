from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PredictionUrls")


@_attrs_define
class PredictionUrls:
    """
    Attributes:
        cancel (str | None):
        get (str | None):
        stream (str | None):
    """

    cancel: str | None = None
    get: str | None = None
    stream: str | None = None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cancel: str | Unset = UNSET if self.cancel is None else self.cancel

        get: str | Unset = UNSET if self.get is None else self.get

        stream: str | Unset = UNSET if self.stream is None else self.stream

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if cancel is not UNSET:
            field_dict["cancel"] = cancel
        if get is not UNSET:
            field_dict["get"] = get
        if stream is not UNSET:
            field_dict["stream"] = stream

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        cancel = d.pop("cancel", UNSET)

        get = d.pop("get", UNSET)

        stream = d.pop("stream", UNSET)

        prediction_urls = cls(
            cancel=None if isinstance(cancel, Unset) else cancel,
            get=None if isinstance(get, Unset) else get,
            stream=None if isinstance(stream, Unset) else stream,
        )

        prediction_urls.additional_properties = d
        return prediction_urls

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
