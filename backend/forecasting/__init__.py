"""Replenishment: sell-through histories, the intermittent-demand forecast, suggestions, backtest."""

from backend.forecasting.model import Forecast, forecast, suggest
from backend.forecasting.models import Suggestion
from backend.forecasting.service import compute_suggestions, order_suggestions, reason_text

__all__ = [
    "Forecast",
    "Suggestion",
    "compute_suggestions",
    "forecast",
    "order_suggestions",
    "reason_text",
    "suggest",
]
