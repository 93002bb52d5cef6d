"""Texts for the lake: plans, prompts, quality filters, and the writers (reference, local, gemini)."""
