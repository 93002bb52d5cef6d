"""Steering measurements: comparisons of steered and unsteered text, residual norms, judging."""
