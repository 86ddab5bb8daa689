"""Typed input of black-forest-labs/flux-pro: ``Input`` and the classes it uses."""

from .models import AspectRatio, Input, OutputFormat

__all__ = (
    "AspectRatio",
    "Input",
    "OutputFormat",
)
