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
        guidance (float | None): Controls the balance between adherence to the text prompt and image quality/diversity.
            Higher values make the output more closely match the prompt but may reduce overall image quality. Lower values
            allow for more creative freedom but might produce results less relevant to the prompt. Default: 3.0.
        height (int | None): Height of the generated image in text-to-image mode. Only used when aspect_ratio=custom.
            Must be a multiple of 32 (if it's not, it will be rounded to nearest multiple of 32). Note: Ignored in img2img
            and inpainting modes.
        image_prompt (str | None): Image to use with Flux Redux. This is used together with the text prompt to guide the
            generation towards the composition of the image_prompt. Must be jpeg, png, gif, or webp.
        interval (float | None): Interval is a setting that increases the variance in possible outputs letting the model
            be a tad more dynamic in what outputs it may produce in terms of composition, color, detail, and prompt
            interpretation. Setting this value low will ensure strong prompt following with more consistent outputs, setting
            it higher will produce more dynamic or varied outputs. Default: 2.0.
        output_format (OutputFormat | None): An enumeration. Default: OutputFormat.WEBP.
        output_quality (int | None): Quality when saving the output images, from 0 to 100. 100 is best quality, 0 is
            lowest quality. Not relevant for .png outputs Default: 80.
        prompt_upsampling (bool | None): Automatically modify the prompt for more creative generation Default: False.
        safety_tolerance (int | None): Safety tolerance, 1 is most strict and 6 is most permissive Default: 2.
        seed (int | None): Random seed. Set for reproducible generation
        steps (int | None): Number of diffusion steps Default: 25.
        width (int | None): Width of the generated image in text-to-image mode. Only used when aspect_ratio=custom. Must
            be a multiple of 32 (if it's not, it will be rounded to nearest multiple of 32). Note: Ignored in img2img and
            inpainting modes.
    """

    prompt: str
    aspect_ratio: AspectRatio | None = AspectRatio.V1_1
    guidance: float | None = 3.0
    height: int | None = None
    image_prompt: str | None = None
    interval: float | None = 2.0
    output_format: OutputFormat | None = OutputFormat.WEBP
    output_quality: int | None = 80
    prompt_upsampling: bool | None = False
    safety_tolerance: int | None = 2
    seed: int | None = None
    steps: int | None = 25
    width: int | None = None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        prompt = self.prompt

        _aspect_ratio: AspectRatio | Unset = (
            UNSET if self.aspect_ratio is None else self.aspect_ratio
        )
        aspect_ratio: str | Unset = UNSET
        if not isinstance(_aspect_ratio, Unset):
            aspect_ratio = _aspect_ratio.value

        guidance: float | Unset = UNSET if self.guidance is None else self.guidance

        height: int | Unset = UNSET if self.height is None else self.height

        image_prompt: str | Unset = (
            UNSET if self.image_prompt is None else self.image_prompt
        )

        interval: float | Unset = UNSET if self.interval is None else self.interval

        _output_format: OutputFormat | Unset = (
            UNSET if self.output_format is None else self.output_format
        )
        output_format: str | Unset = UNSET
        if not isinstance(_output_format, Unset):
            output_format = _output_format.value

        output_quality: int | Unset = (
            UNSET if self.output_quality is None else self.output_quality
        )

        prompt_upsampling: bool | Unset = (
            UNSET if self.prompt_upsampling is None else self.prompt_upsampling
        )

        safety_tolerance: int | Unset = (
            UNSET if self.safety_tolerance is None else self.safety_tolerance
        )

        seed: int | Unset = UNSET if self.seed is None else self.seed

        steps: int | Unset = UNSET if self.steps is None else self.steps

        width: int | Unset = UNSET if self.width is None else self.width

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "prompt": prompt,
            }
        )
        if aspect_ratio is not UNSET:
            field_dict["aspect_ratio"] = aspect_ratio
        if guidance is not UNSET:
            field_dict["guidance"] = guidance
        if height is not UNSET:
            field_dict["height"] = height
        if image_prompt is not UNSET:
            field_dict["image_prompt"] = image_prompt
        if interval is not UNSET:
            field_dict["interval"] = interval
        if output_format is not UNSET:
            field_dict["output_format"] = output_format
        if output_quality is not UNSET:
            field_dict["output_quality"] = output_quality
        if prompt_upsampling is not UNSET:
            field_dict["prompt_upsampling"] = prompt_upsampling
        if safety_tolerance is not UNSET:
            field_dict["safety_tolerance"] = safety_tolerance
        if seed is not UNSET:
            field_dict["seed"] = seed
        if steps is not UNSET:
            field_dict["steps"] = steps
        if width is not UNSET:
            field_dict["width"] = width

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

        guidance = d.pop("guidance", UNSET)

        height = d.pop("height", UNSET)

        image_prompt = d.pop("image_prompt", UNSET)

        interval = d.pop("interval", UNSET)

        _output_format = d.pop("output_format", UNSET)
        output_format: OutputFormat | Unset
        if isinstance(_output_format, Unset):
            output_format = UNSET
        else:
            output_format = OutputFormat(_output_format)

        output_quality = d.pop("output_quality", UNSET)

        prompt_upsampling = d.pop("prompt_upsampling", UNSET)

        safety_tolerance = d.pop("safety_tolerance", UNSET)

        seed = d.pop("seed", UNSET)

        steps = d.pop("steps", UNSET)

        width = d.pop("width", UNSET)

        input_ = cls(
            prompt=prompt,
            aspect_ratio=None if isinstance(aspect_ratio, Unset) else aspect_ratio,
            guidance=None if isinstance(guidance, Unset) else guidance,
            height=None if isinstance(height, Unset) else height,
            image_prompt=None if isinstance(image_prompt, Unset) else image_prompt,
            interval=None if isinstance(interval, Unset) else interval,
            output_format=None if isinstance(output_format, Unset) else output_format,
            output_quality=None
            if isinstance(output_quality, Unset)
            else output_quality,
            prompt_upsampling=None
            if isinstance(prompt_upsampling, Unset)
            else prompt_upsampling,
            safety_tolerance=None
            if isinstance(safety_tolerance, Unset)
            else safety_tolerance,
            seed=None if isinstance(seed, Unset) else seed,
            steps=None if isinstance(steps, Unset) else steps,
            width=None if isinstance(width, Unset) else width,
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
