"""The schemas of black-forest-labs/flux-1.1-pro, as its vendored document gives them."""

from typing import Any

MODEL: str = "black-forest-labs/flux-1.1-pro"
VERSION: str | None = "badb73d13c01c716f59b538fae81023a6c0a4f3aaedd00d477602c204c9e1232"
TYPED: bool = True
SCHEMAS: dict[str, Any] = {
    "Input": {
        "type": "object",
        "title": "Input",
        "required": ["prompt"],
        "properties": {
            "seed": {
                "type": "integer",
                "title": "Seed",
                "x-order": 6,
                "description": "Random seed. Set for reproducible generation",
            },
            "width": {
                "type": "integer",
                "title": "Width",
                "maximum": 1440,
                "minimum": 256,
                "x-order": 3,
                "description": "Width of the generated image in text-to-image mode. Only used when aspect_ratio=custom. Must be a multiple of 32 (if it's not, it will be rounded to nearest multiple of 32). Note: Ignored in img2img and inpainting modes.",
            },
            "height": {
                "type": "integer",
                "title": "Height",
                "maximum": 1440,
                "minimum": 256,
                "x-order": 4,
                "description": "Height of the generated image in text-to-image mode. Only used when aspect_ratio=custom. Must be a multiple of 32 (if it's not, it will be rounded to nearest multiple of 32). Note: Ignored in img2img and inpainting modes.",
            },
            "prompt": {
                "type": "string",
                "title": "Prompt",
                "x-order": 0,
                "description": "Text prompt for image generation",
            },
            "aspect_ratio": {
                "allOf": [{"$ref": "#/components/schemas/aspect_ratio"}],
                "default": "1:1",
                "x-order": 2,
                "description": "Aspect ratio for the generated image",
            },
            "image_prompt": {
                "type": "string",
                "title": "Image Prompt",
                "format": "uri",
                "x-order": 1,
                "description": "Image to use with Flux Redux. This is used together with the text prompt to guide the generation towards the composition of the image_prompt. Must be jpeg, png, gif, or webp.",
            },
            "output_format": {
                "allOf": [{"$ref": "#/components/schemas/output_format"}],
                "default": "webp",
                "x-order": 8,
                "description": "Format of the output images.",
            },
            "output_quality": {
                "type": "integer",
                "title": "Output Quality",
                "default": 80,
                "maximum": 100,
                "minimum": 0,
                "x-order": 9,
                "description": "Quality when saving the output images, from 0 to 100. 100 is best quality, 0 is lowest quality. Not relevant for .png outputs",
            },
            "safety_tolerance": {
                "type": "integer",
                "title": "Safety Tolerance",
                "default": 2,
                "maximum": 6,
                "minimum": 1,
                "x-order": 5,
                "description": "Safety tolerance, 1 is most strict and 6 is most permissive",
            },
            "prompt_upsampling": {
                "type": "boolean",
                "title": "Prompt Upsampling",
                "default": False,
                "x-order": 7,
                "description": "Automatically modify the prompt for more creative generation",
            },
        },
    },
    "Output": {"type": "string", "title": "Output", "format": "uri"},
    "aspect_ratio": {
        "enum": [
            "custom",
            "1:1",
            "16:9",
            "3:2",
            "2:3",
            "4:5",
            "5:4",
            "9:16",
            "3:4",
            "4:3",
        ],
        "type": "string",
        "title": "aspect_ratio",
        "description": "An enumeration.",
    },
    "output_format": {
        "enum": ["webp", "jpg", "png"],
        "type": "string",
        "title": "output_format",
        "description": "An enumeration.",
    },
}
