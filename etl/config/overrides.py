"""`--set SECTION.KEY=VALUE`: overrides merged into a preset's raw tables before anything is checked."""

from __future__ import annotations

import tomllib

from etl.errors import EmolakeError


def apply_override(raw: dict, item: str) -> None:
    """Merges one `SECTION.KEY=VALUE` override (`--set`) into a preset's raw tables; the checks come after."""
    key, sep, text = item.partition("=")
    path = [part.strip() for part in key.split(".")]
    if not sep or not all(path):
        raise EmolakeError(f"--set {item!r} is malformed: write SECTION.KEY=VALUE, e.g. --set extract.skip_tokens=20")
    table = raw
    for depth, part in enumerate(path[:-1]):
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            raise EmolakeError(f"--set {item!r}: {'.'.join(path[: depth + 1])} is a value, not a table: set it alone")
    merge(table, path[-1], override_value(text))


def override_value(text: str):
    """An override's VALUE read as TOML; text that is not a TOML value (a bare word such as `norms`) is a string."""
    try:
        parsed = tomllib.loads(f"value = {text}")
    except tomllib.TOMLDecodeError:
        return text.strip()
    return parsed["value"] if set(parsed) == {"value"} else text.strip()


def merge(table: dict, key: str, value) -> None:
    """Sets table[key] = value; a table merged into a table keeps the keys it does not set."""
    if isinstance(value, dict) and isinstance(table.get(key), dict):
        for inner, inner_value in value.items():
            merge(table[key], inner, inner_value)
    else:
        table[key] = value
