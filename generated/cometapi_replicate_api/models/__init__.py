"""Contains all the data models used in inputs/outputs"""

from .prediction import Prediction
from .prediction_input import PredictionInput
from .prediction_metrics import PredictionMetrics
from .prediction_request import PredictionRequest
from .prediction_request_input import PredictionRequestInput
from .prediction_urls import PredictionUrls

__all__ = (
    "Prediction",
    "PredictionInput",
    "PredictionMetrics",
    "PredictionRequest",
    "PredictionRequestInput",
    "PredictionUrls",
)
