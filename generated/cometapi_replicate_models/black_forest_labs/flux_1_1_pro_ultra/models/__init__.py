"""Contains all the data models used in inputs/outputs"""

from .aspect_ratio import AspectRatio
from .input_ import Input
from .output_format import OutputFormat

__all__ = (
    "AspectRatio",
    "Input",
    "OutputFormat",
)
