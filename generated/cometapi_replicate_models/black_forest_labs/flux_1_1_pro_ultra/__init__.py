"""Typed input of black-forest-labs/flux-1.1-pro-ultra: ``Input`` and the classes it uses."""

from .models import AspectRatio, Input, OutputFormat

__all__ = (
    "AspectRatio",
    "Input",
    "OutputFormat",
)
