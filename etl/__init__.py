"""emolake: a data lake for emotion probes in language models."""

__version__ = "0.1.0"
