"""The one exception type the CLI turns into a one-line message and a non-zero exit, and the one warning."""


class EmolakeError(Exception):
    """A user-facing error: its message names the bad value and the fix."""


class ShortTextWarning(UserWarning):
    """A text too short to read an emotion from (`etl.probes.policy.MIN_TOKENS`) was scored anyway: its answer is a
    weak guess. The Python API warns with it; the CLI prints the warning beside the answer, the JSON API sends it."""


def warn_short(texts: list[str], warnings: list[str | None]) -> None:
    """Raises each text's warning (`etl.probes.scoring.short_warning`, or a server's) as a `ShortTextWarning`."""
    import warnings as python_warnings

    for row, (text, message) in enumerate(zip(texts, warnings, strict=True)):
        if message:
            python_warnings.warn(f"text at row {row} ({text[:40]!r}): {message}", ShortTextWarning, stacklevel=3)
