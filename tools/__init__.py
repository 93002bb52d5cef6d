"""Developer scripts that are neither part of the app nor tests: run them with `python -m tools.NAME`."""
