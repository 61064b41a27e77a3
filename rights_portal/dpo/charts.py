"""Server-side SVG bar charts: no script, no external file, readable without colour.

Each chart is an inline ``<svg role="img">`` with a ``<title>`` and ``<desc>`` that screen readers
announce; the numbers are written next to every bar, and the page puts the same figures in a data
table beside the chart (WCAG 1.1.1, 1.4.1). Colours come from CSS classes (the CSP forbids inline
styles); series are also told apart by their legend and by the label on each bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 660
LABEL_WIDTH = 230
VALUE_WIDTH = 56
BAR_HEIGHT = 16
BAR_GAP = 4
GROUP_GAP = 12
LEGEND_HEIGHT = 24
# A category's label is wrapped into lines that fit LABEL_WIDTH even in a wide font (the PDF's
# fallback sans-serif runs ~7.5 px a character at 11-12 px), so it never runs under the bars.
LINE_CHARS = 28
MAX_LINES = 3
LINE_HEIGHT = 14


@dataclass(frozen=True)
class Series:
    """One set of bars, one value per category."""

    name: str
    values: Sequence[float]


def wrap_label(label: str, width: int = LINE_CHARS, max_lines: int = MAX_LINES) -> list[str]:
    """The label in lines of at most ``width`` characters, broken between words.

    Beyond ``max_lines`` the last line ends in "…"; the full text is in the chart's tooltip and
    in the table beside every chart.
    """
    lines: list[str] = []
    for word in label.split():
        while len(word) > width:  # a word longer than a line is cut, not overflowed
            lines.append(word[:width])
            word = word[width:]
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        elif word:
            lines.append(word)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        lines = [*lines[: max_lines - 1], (last[: width - 1] if len(last) >= width else last) + "…"]
    return lines or [""]


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "",
    empty_text: str = "",
) -> Markup:
    """A horizontal (grouped) bar chart as an inline SVG element."""
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    series = [s for s in series if len(s.values) == len(categories)]
    peak = max((v for s in series for v in s.values), default=0) or 1
    show_legend = len(series) > 1
    group_height = len(series) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
    top = LEGEND_HEIGHT if show_legend else 0
    labels = [wrap_label(category) for category in categories]
    row_heights = [max(group_height, len(lines) * LINE_HEIGHT) for lines in labels] or [
        group_height
    ]
    height = top + sum(h + GROUP_GAP for h in row_heights) + GROUP_GAP
    bar_space = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}"'
        f' role="img" aria-labelledby="{title_id} {desc_id}"'
        f' viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
    ]
    if show_legend:
        x = LABEL_WIDTH
        for index, one in enumerate(series):
            parts.append(
                f'<rect class="chart-bar chart-series-{index}" x="{x}" y="4"'
                f' width="12" height="12"></rect>'
                f'<text class="chart-legend" x="{x + 16}" y="14">{escape(one.name)}</text>'
            )
            x += 24 + 8 * len(one.name)
    if not categories:
        parts.append(
            f'<text class="chart-label" x="0" y="{top + GROUP_GAP + BAR_HEIGHT}">'
            f"{escape(empty_text)}</text>"
        )
    y0 = top + GROUP_GAP
    for row, category in enumerate(categories):
        lines = labels[row]
        row_height = row_heights[row]
        first = y0 + (row_height - len(lines) * LINE_HEIGHT) / 2 + LINE_HEIGHT - 3
        spans = "".join(
            f'<tspan x="0" y="{first + i * LINE_HEIGHT:.0f}">{escape(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        parts.append(f'<text class="chart-label"><title>{escape(category)}</title>{spans}</text>')
        bars_top = y0 + (row_height - group_height) / 2
        for index, one in enumerate(series):
            value = one.values[row]
            y = bars_top + index * (BAR_HEIGHT + BAR_GAP)
            length = max(bar_space * value / peak, 0)
            parts.append(
                f'<rect class="chart-bar chart-series-{index}" x="{LABEL_WIDTH}" y="{y}"'
                f' width="{length:.1f}" height="{BAR_HEIGHT}"></rect>'
                f'<text class="chart-value" x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 13}">'
                f"{escape(_number(value))}{escape(unit)}</text>"
            )
        y0 += row_height + GROUP_GAP
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every interpolated text is escaped above)
