"""Small server-side SVG bar charts: no JavaScript, no library, every label escaped."""
from __future__ import annotations

import textwrap

from markupsafe import Markup, escape

CHAR_WIDTH = 6  # px per character of an 11px label, roughly: how many characters fit a line
LINE_HEIGHT = 12


def bar_chart(rows: list[tuple[str, float | None]], *, title: str, width: int = 320, bar_height: int = 18,
              label_width: int = 130, value_format=lambda v: f"{v:,.0f}", colour: str = "#d94801") -> Markup:
    """A horizontal bar chart as inline SVG with a <title> for screen readers.

    A value of None (not known) gets no bar, only ``value_format(None)`` as its text. Labels
    longer than a line wrap onto a second one (the rows grow to fit), so they read as in the table.
    """
    top = max((v for _, v in rows if v is not None), default=0) or 1
    lines = [_lines(label, label_width // CHAR_WIDTH) for label, _ in rows]
    if any(len(parts) > 1 for parts in lines):
        bar_height = max(bar_height, 2 * LINE_HEIGHT + 4)
    height = bar_height * len(rows) + 4
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, ((_, value), label_lines) in enumerate(zip(rows, lines)):
        y = i * bar_height + 2
        middle = y + bar_height / 2 + 4  # baseline of a line centred on the bar
        w = 0.0 if value is None else max(0.0, (width - label_width - 70) * (value / top))
        first = middle - (len(label_lines) - 1) * LINE_HEIGHT / 2
        parts.append(f'<text x="{label_width - 4}" y="{first:.1f}" text-anchor="end" font-size="11">'
                     + "".join(f'<tspan x="{label_width - 4}" dy="{LINE_HEIGHT if n else 0}">{escape(line)}</tspan>'
                               for n, line in enumerate(label_lines))
                     + "</text>")
        parts.append(f'<rect x="{label_width}" y="{y + 2}" width="{w:.1f}" height="{bar_height - 5}" fill="{escape(colour)}"/>')
        parts.append(f'<text x="{label_width + w + 4:.1f}" y="{middle:.1f}" font-size="11">'
                     f'{escape(value_format(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _lines(label, limit: int) -> list[str]:
    """The label in at most two lines of ``limit`` characters; what does not fit ends in '…'."""
    lines = textwrap.wrap(str(label), limit) or [""]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), limit, placeholder="…")]
    return lines
