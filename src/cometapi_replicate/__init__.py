"""Python SDK for the Replicate prediction API served by CometAPI."""

from cometapi_replicate_api.models import Prediction

from ._version import __version__

__all__ = ["Prediction", "__version__"]
