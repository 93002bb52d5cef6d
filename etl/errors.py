"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class EmolakeError(Exception):
    """A user-facing error: its message names the bad value and the fix."""
