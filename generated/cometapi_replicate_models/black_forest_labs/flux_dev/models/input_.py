from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.aspect_ratio import AspectRatio
from ..models.megapixels import Megapixels
from ..models.output_format import OutputFormat
from ..types import UNSET, Unset

T = TypeVar("T", bound="Input")


@_attrs_define
class Input:
    """
    Attributes:
        prompt (str): Prompt for generated image
        aspect_ratio (AspectRatio | None): An enumeration. Default: AspectRatio.V1_1.
        disable_safety_checker (bool | None): Disable safety checker for generated images. Default: False.
        go_fast (bool | None): Run faster predictions with model optimized for speed (currently fp8 quantized); disable
            to run in original bf16 Default: True.
        guidance (float | None): Guidance for generated image Default: 3.0.
        image (str | None): Input image for image to image mode. The aspect ratio of your output will match this image
        megapixels (Megapixels | None): An enumeration. Default: Megapixels.V1.
        num_inference_steps (int | None): Number of denoising steps. Recommended range is 28-50, and lower number of
            steps produce lower quality outputs, faster. Default: 28.
        num_outputs (int | None): Number of outputs to generate Default: 1.
        output_format (OutputFormat | None): An enumeration. Default: OutputFormat.WEBP.
        output_quality (int | None): Quality when saving the output images, from 0 to 100. 100 is best quality, 0 is
            lowest quality. Not relevant for .png outputs Default: 80.
        prompt_strength (float | None): Prompt strength when using img2img. 1.0 corresponds to full destruction of
            information in image Default: 0.8.
        seed (int | None): Random seed. Set for reproducible generation
    """

    prompt: str
    aspect_ratio: AspectRatio | None = AspectRatio.V1_1
    disable_safety_checker: bool | None = False
    go_fast: bool | None = True
    guidance: float | None = 3.0
    image: str | None = None
    megapixels: Megapixels | None = Megapixels.V1
    num_inference_steps: int | None = 28
    num_outputs: int | None = 1
    output_format: OutputFormat | None = OutputFormat.WEBP
    output_quality: int | None = 80
    prompt_strength: float | None = 0.8
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

        disable_safety_checker: bool | Unset = (
            UNSET
            if self.disable_safety_checker is None
            else self.disable_safety_checker
        )

        go_fast: bool | Unset = UNSET if self.go_fast is None else self.go_fast

        guidance: float | Unset = UNSET if self.guidance is None else self.guidance

        image: str | Unset = UNSET if self.image is None else self.image

        _megapixels: Megapixels | Unset = (
            UNSET if self.megapixels is None else self.megapixels
        )
        megapixels: str | Unset = UNSET
        if not isinstance(_megapixels, Unset):
            megapixels = _megapixels.value

        num_inference_steps: int | Unset = (
            UNSET if self.num_inference_steps is None else self.num_inference_steps
        )

        num_outputs: int | Unset = (
            UNSET if self.num_outputs is None else self.num_outputs
        )

        _output_format: OutputFormat | Unset = (
            UNSET if self.output_format is None else self.output_format
        )
        output_format: str | Unset = UNSET
        if not isinstance(_output_format, Unset):
            output_format = _output_format.value

        output_quality: int | Unset = (
            UNSET if self.output_quality is None else self.output_quality
        )

        prompt_strength: float | Unset = (
            UNSET if self.prompt_strength is None else self.prompt_strength
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
        if disable_safety_checker is not UNSET:
            field_dict["disable_safety_checker"] = disable_safety_checker
        if go_fast is not UNSET:
            field_dict["go_fast"] = go_fast
        if guidance is not UNSET:
            field_dict["guidance"] = guidance
        if image is not UNSET:
            field_dict["image"] = image
        if megapixels is not UNSET:
            field_dict["megapixels"] = megapixels
        if num_inference_steps is not UNSET:
            field_dict["num_inference_steps"] = num_inference_steps
        if num_outputs is not UNSET:
            field_dict["num_outputs"] = num_outputs
        if output_format is not UNSET:
            field_dict["output_format"] = output_format
        if output_quality is not UNSET:
            field_dict["output_quality"] = output_quality
        if prompt_strength is not UNSET:
            field_dict["prompt_strength"] = prompt_strength
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

        disable_safety_checker = d.pop("disable_safety_checker", UNSET)

        go_fast = d.pop("go_fast", UNSET)

        guidance = d.pop("guidance", UNSET)

        image = d.pop("image", UNSET)

        _megapixels = d.pop("megapixels", UNSET)
        megapixels: Megapixels | Unset
        if isinstance(_megapixels, Unset):
            megapixels = UNSET
        else:
            megapixels = Megapixels(_megapixels)

        num_inference_steps = d.pop("num_inference_steps", UNSET)

        num_outputs = d.pop("num_outputs", UNSET)

        _output_format = d.pop("output_format", UNSET)
        output_format: OutputFormat | Unset
        if isinstance(_output_format, Unset):
            output_format = UNSET
        else:
            output_format = OutputFormat(_output_format)

        output_quality = d.pop("output_quality", UNSET)

        prompt_strength = d.pop("prompt_strength", UNSET)

        seed = d.pop("seed", UNSET)

        input_ = cls(
            prompt=prompt,
            aspect_ratio=None if isinstance(aspect_ratio, Unset) else aspect_ratio,
            disable_safety_checker=None
            if isinstance(disable_safety_checker, Unset)
            else disable_safety_checker,
            go_fast=None if isinstance(go_fast, Unset) else go_fast,
            guidance=None if isinstance(guidance, Unset) else guidance,
            image=None if isinstance(image, Unset) else image,
            megapixels=None if isinstance(megapixels, Unset) else megapixels,
            num_inference_steps=None
            if isinstance(num_inference_steps, Unset)
            else num_inference_steps,
            num_outputs=None if isinstance(num_outputs, Unset) else num_outputs,
            output_format=None if isinstance(output_format, Unset) else output_format,
            output_quality=None
            if isinstance(output_quality, Unset)
            else output_quality,
            prompt_strength=None
            if isinstance(prompt_strength, Unset)
            else prompt_strength,
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
