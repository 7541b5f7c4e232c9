"""Diagnostics: vanishing/exploding gradients shown on real runs, the gating cure, and the cost of recurrence."""

from rnnkit.diagnostics.gradient_flow import GradientFlow, gradient_flow, recurrent_spectra

__all__ = ["GradientFlow", "gradient_flow", "recurrent_spectra"]
