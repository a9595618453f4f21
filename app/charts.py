"""Small server-side SVG bar charts: no JavaScript, no library, every label escaped."""
from __future__ import annotations

from markupsafe import Markup, escape


def bar_chart(rows: list[tuple[str, float]], *, title: str, width: int = 320, bar_height: int = 18,
              label_width: int = 130, value_format=lambda v: f"{v:,.0f}", colour: str = "#d94801") -> Markup:
    """A horizontal bar chart as inline SVG with a <title> for screen readers."""
    top = max((v for _, v in rows), default=0) or 1
    height = bar_height * len(rows) + 4
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(rows):
        y = i * bar_height + 2
        w = max(0.0, (width - label_width - 70) * (value / top))
        parts.append(f'<text x="{label_width - 4}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" font-size="11">'
                     f'{escape(_short(label))}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 2}" width="{w:.1f}" height="{bar_height - 5}" fill="{escape(colour)}"/>')
        parts.append(f'<text x="{label_width + w + 4:.1f}" y="{y + bar_height * 0.7:.1f}" font-size="11">'
                     f'{escape(value_format(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(label: str, limit: int = 22) -> str:
    label = str(label)
    return label if len(label) <= limit else label[: limit - 1] + "…"
