"""Typed input of black-forest-labs/flux-schnell: ``Input`` and the classes it uses."""

from .models import AspectRatio, Input, Megapixels, OutputFormat

__all__ = (
    "AspectRatio",
    "Input",
    "Megapixels",
    "OutputFormat",
)
