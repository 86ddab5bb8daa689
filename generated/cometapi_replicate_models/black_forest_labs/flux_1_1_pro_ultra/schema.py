"""The schemas of black-forest-labs/flux-1.1-pro-ultra, as its vendored document gives them."""

from typing import Any

MODEL: str = "black-forest-labs/flux-1.1-pro-ultra"
VERSION: str | None = "352185dbc99e9dd708b78b4e6870e3ca49d00dc6451a32fc6dd57968194fae5a"
TYPED: bool = True
SCHEMAS: dict[str, Any] = {
    "Input": {
        "type": "object",
        "title": "Input",
        "required": ["prompt"],
        "properties": {
            "raw": {
                "type": "boolean",
                "title": "Raw",
                "default": False,
                "x-order": 6,
                "description": "Generate less processed, more natural-looking images",
            },
            "seed": {
                "type": "integer",
                "title": "Seed",
                "x-order": 5,
                "description": "Random seed. Set for reproducible generation",
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
                "x-order": 3,
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
                "default": "jpg",
                "x-order": 7,
                "description": "Format of the output images.",
            },
            "safety_tolerance": {
                "type": "integer",
                "title": "Safety Tolerance",
                "default": 2,
                "maximum": 6,
                "minimum": 1,
                "x-order": 4,
                "description": "Safety tolerance, 1 is most strict and 6 is most permissive",
            },
            "image_prompt_strength": {
                "type": "number",
                "title": "Image Prompt Strength",
                "default": 0.1,
                "maximum": 1,
                "minimum": 0,
                "x-order": 2,
                "description": "Blend between the prompt and the image prompt.",
            },
        },
    },
    "Output": {"type": "string", "title": "Output", "format": "uri"},
    "aspect_ratio": {
        "enum": [
            "21:9",
            "16:9",
            "3:2",
            "4:3",
            "5:4",
            "1:1",
            "4:5",
            "3:4",
            "2:3",
            "9:16",
            "9:21",
        ],
        "type": "string",
        "title": "aspect_ratio",
        "description": "An enumeration.",
    },
    "output_format": {
        "enum": ["jpg", "png"],
        "type": "string",
        "title": "output_format",
        "description": "An enumeration.",
    },
}
