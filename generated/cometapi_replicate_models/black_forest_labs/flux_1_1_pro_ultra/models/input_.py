from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.aspect_ratio import AspectRatio
from ..models.output_format import OutputFormat
from ..types import UNSET, Unset

T = TypeVar("T", bound="Input")


@_attrs_define
class Input:
    """
    Attributes:
        prompt (str): Text prompt for image generation
        aspect_ratio (AspectRatio | None): An enumeration. Default: AspectRatio.V1_1.
        image_prompt (str | None): Image to use with Flux Redux. This is used together with the text prompt to guide the
            generation towards the composition of the image_prompt. Must be jpeg, png, gif, or webp.
        image_prompt_strength (float | None): Blend between the prompt and the image prompt. Default: 0.1.
        output_format (OutputFormat | None): An enumeration. Default: OutputFormat.JPG.
        raw (bool | None): Generate less processed, more natural-looking images Default: False.
        safety_tolerance (int | None): Safety tolerance, 1 is most strict and 6 is most permissive Default: 2.
        seed (int | None): Random seed. Set for reproducible generation
    """

    prompt: str
    aspect_ratio: AspectRatio | None = AspectRatio.V1_1
    image_prompt: str | None = None
    image_prompt_strength: float | None = 0.1
    output_format: OutputFormat | None = OutputFormat.JPG
    raw: bool | None = False
    safety_tolerance: int | None = 2
    seed: int | None = None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        prompt = self.prompt

        _aspect_ratio: AspectRatio | Unset = (
            UNSET if self.aspect_ratio is None else self.aspect_ratio
        )
        aspect_ratio: str | Unset = UNSET
        if not isinstance(_aspect_ratio, Unset):
            aspect_ratio = _aspect_ratio.value

        image_prompt: str | Unset = (
            UNSET if self.image_prompt is None else self.image_prompt
        )

        image_prompt_strength: float | Unset = (
            UNSET if self.image_prompt_strength is None else self.image_prompt_strength
        )

        _output_format: OutputFormat | Unset = (
            UNSET if self.output_format is None else self.output_format
        )
        output_format: str | Unset = UNSET
        if not isinstance(_output_format, Unset):
            output_format = _output_format.value

        raw: bool | Unset = UNSET if self.raw is None else self.raw

        safety_tolerance: int | Unset = (
            UNSET if self.safety_tolerance is None else self.safety_tolerance
        )

        seed: int | Unset = UNSET if self.seed is None else self.seed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "prompt": prompt,
            }
        )
        if aspect_ratio is not UNSET:
            field_dict["aspect_ratio"] = aspect_ratio
        if image_prompt is not UNSET:
            field_dict["image_prompt"] = image_prompt
        if image_prompt_strength is not UNSET:
            field_dict["image_prompt_strength"] = image_prompt_strength
        if output_format is not UNSET:
            field_dict["output_format"] = output_format
        if raw is not UNSET:
            field_dict["raw"] = raw
        if safety_tolerance is not UNSET:
            field_dict["safety_tolerance"] = safety_tolerance
        if seed is not UNSET:
            field_dict["seed"] = seed

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        prompt = d.pop("prompt")

        _aspect_ratio = d.pop("aspect_ratio", UNSET)
        aspect_ratio: AspectRatio | Unset
        if isinstance(_aspect_ratio, Unset):
            aspect_ratio = UNSET
        else:
            aspect_ratio = AspectRatio(_aspect_ratio)

        image_prompt = d.pop("image_prompt", UNSET)

        image_prompt_strength = d.pop("image_prompt_strength", UNSET)

        _output_format = d.pop("output_format", UNSET)
        output_format: OutputFormat | Unset
        if isinstance(_output_format, Unset):
            output_format = UNSET
        else:
            output_format = OutputFormat(_output_format)

        raw = d.pop("raw", UNSET)

        safety_tolerance = d.pop("safety_tolerance", UNSET)

        seed = d.pop("seed", UNSET)

        input_ = cls(
            prompt=prompt,
            aspect_ratio=None if isinstance(aspect_ratio, Unset) else aspect_ratio,
            image_prompt=None if isinstance(image_prompt, Unset) else image_prompt,
            image_prompt_strength=None
            if isinstance(image_prompt_strength, Unset)
            else image_prompt_strength,
            output_format=None if isinstance(output_format, Unset) else output_format,
            raw=None if isinstance(raw, Unset) else raw,
            safety_tolerance=None
            if isinstance(safety_tolerance, Unset)
            else safety_tolerance,
            seed=None if isinstance(seed, Unset) else seed,
        )

        input_.additional_properties = d
        return input_

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
