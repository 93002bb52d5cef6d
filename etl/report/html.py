"""A self-contained HTML page: escaped text, tables and figures that link to files beside the page."""

from __future__ import annotations

from html import escape

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption, .note { font-size: 0.85em; color: #555; }
code { background: #f5f5f5; padding: 0 3px; }
"""


def fmt(value, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(headers: list[str], rows: list[list], numeric: set[int] | None = None) -> str:
    """An HTML table; cells are escaped, columns listed in `numeric` are right-aligned."""
    numeric = numeric or set()
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(fmt(cell))}</td>' if i in numeric else f"<td>{escape(fmt(cell))}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(files: list[str], alt: str, caption: str) -> str:
    """The PNG of `files` inline, with a link to its SVG."""
    png = next(f for f in files if f.endswith(".png"))
    svg = next((f for f in files if f.endswith(".svg")), None)
    link = f' (<a href="{escape(svg)}">SVG</a>)' if svg else ""
    return (
        f'<figure><img src="{escape(png)}" alt="{escape(alt)}">'
        f"<figcaption>{escape(caption)}{link}</figcaption></figure>"
    )


def paragraph(text: str, css: str = "") -> str:
    attribute = f' class="{css}"' if css else ""
    return f"<p{attribute}>{escape(text)}</p>"


def section(title: str, parts: list[str], anchor: str) -> str:
    return f'<section id="{escape(anchor)}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def page(title: str, intro: list[str], sections: list[str]) -> str:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{''.join(intro)}{''.join(sections)}</body></html>\n"
    )
