"""The energy chart as server-side SVG: reference figures and each answer, horizontal bars on a log scale."""
from __future__ import annotations

import math
from html import escape


def log_bars(rows: list[tuple[str, float, str]], width: int = 640, bar: int = 22) -> str:
    """An SVG of labelled horizontal bars (label, Wh, kind), log10 scale from the smallest to the largest value; each
    bar's kind (reference, estimate, measured) is its CSS class and is also written after its value, so that the chart
    reads without colour."""
    values = [v for _, v, _ in rows if v > 0]
    if not values:
        return ""
    low = math.floor(math.log10(min(values))) if values else -4
    high = math.ceil(math.log10(max(values))) if values else 1
    high = max(high, low + 1)
    left, right = 190, 140
    span = width - left - right
    height = len(rows) * (bar + 8) + 40

    def x(value: float) -> float:
        return left + (math.log10(value) - low) / (high - low) * span

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="Wh, log scale">']
    for decade in range(low, high + 1):
        gx = x(10.0**decade)
        parts.append(f'<line x1="{gx:.1f}" y1="0" x2="{gx:.1f}" y2="{height - 30}" class="grid"/>')
        parts.append(f'<text x="{gx:.1f}" y="{height - 12}" class="tick" text-anchor="middle">{10.0**decade:g} Wh</text>')
    for i, (label, value, css) in enumerate(rows):
        y = i * (bar + 8) + 4
        parts.append(f'<text x="{left - 8}" y="{y + bar * 0.7:.1f}" class="label" text-anchor="end">{escape(label[:28])}</text>')
        if value > 0:
            w = max(1.0, x(value) - left)
            parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" class="{css}"><title>{escape(label)}: {value:.4g} Wh</title></rect>')
            parts.append(f'<text x="{left + w + 4:.1f}" y="{y + bar * 0.7:.1f}" class="value">{value:.3g} · {escape(css)}</text>')
    parts.append("</svg>")
    return "".join(parts)
