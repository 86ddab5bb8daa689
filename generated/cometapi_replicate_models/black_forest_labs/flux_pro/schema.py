"""The schemas of black-forest-labs/flux-pro, as its vendored document gives them."""

from typing import Any

MODEL: str = "black-forest-labs/flux-pro"
VERSION: str | None = "a57823497a8beebcd222c20dd78af15a90c0415c36a5bfc88ee763c67155310e"
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
                "x-order": 10,
                "description": "Random seed. Set for reproducible generation",
            },
            "steps": {
                "type": "integer",
                "title": "Steps",
                "default": 25,
                "maximum": 50,
                "minimum": 1,
                "x-order": 5,
                "description": "Number of diffusion steps",
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
            "guidance": {
                "type": "number",
                "title": "Guidance",
                "default": 3,
                "maximum": 5,
                "minimum": 2,
                "x-order": 6,
                "description": "Controls the balance between adherence to the text prompt and image quality/diversity. Higher values make the output more closely match the prompt but may reduce overall image quality. Lower values allow for more creative freedom but might produce results less relevant to the prompt.",
            },
            "interval": {
                "type": "number",
                "title": "Interval",
                "default": 2,
                "maximum": 4,
                "minimum": 1,
                "x-order": 7,
                "description": "Interval is a setting that increases the variance in possible outputs letting the model be a tad more dynamic in what outputs it may produce in terms of composition, color, detail, and prompt interpretation. Setting this value low will ensure strong prompt following with more consistent outputs, setting it higher will produce more dynamic or varied outputs.",
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
                "x-order": 11,
                "description": "Format of the output images.",
            },
            "output_quality": {
                "type": "integer",
                "title": "Output Quality",
                "default": 80,
                "maximum": 100,
                "minimum": 0,
                "x-order": 12,
                "description": "Quality when saving the output images, from 0 to 100. 100 is best quality, 0 is lowest quality. Not relevant for .png outputs",
            },
            "safety_tolerance": {
                "type": "integer",
                "title": "Safety Tolerance",
                "default": 2,
                "maximum": 6,
                "minimum": 1,
                "x-order": 8,
                "description": "Safety tolerance, 1 is most strict and 6 is most permissive",
            },
            "prompt_upsampling": {
                "type": "boolean",
                "title": "Prompt Upsampling",
                "default": False,
                "x-order": 9,
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
