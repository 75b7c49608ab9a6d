"""The overview's 30-day chart, drawn as SVG on the server: no chart library, no script.

Each day is one stacked bar of its outgoing messages grouped as the legend shows them;
every bar has a ``<title>`` (a tooltip, and what a screen reader reads), and the whole
chart a label that says what it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from markupsafe import Markup

GROUPS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("delivered", "#2e9d55", frozenset({"delivered", "read"})),
    ("sent", "#4f86d9", frozenset({"sent"})),
    ("pending", "#e0b232", frozenset({"draft", "scheduled", "queued", "assigned", "taken"})),
    ("failed", "#d0453b", frozenset({"failed", "undelivered", "expired", "canceled"})),
)
WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 620, 200, 12, 22, 34


@dataclass(frozen=True)
class Day:
    day: date
    counts: dict[str, int]

    def grouped(self) -> list[tuple[str, str, int]]:
        return [(name, colour, sum(self.counts.get(s, 0) for s in states)) for name, colour, states in GROUPS]

    @property
    def total(self) -> int:
        return sum(n for _, _, n in self.grouped())


def _ceiling(value: int) -> int:
    """A round top for the axis: 1, 2, 5, 10, 20, 50…"""
    top, steps = 1, (2, 2.5, 2)
    index = 0
    while top < value:
        top = int(top * steps[index % 3])
        index += 1
    return top


def svg(days: Sequence[Day]) -> Markup:
    peak = _ceiling(max((d.total for d in days), default=0))
    plot_w = WIDTH - LEFT - 4
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(days))
    bar = max(2.0, slot * 0.7)
    total = sum(d.total for d in days)
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">Messages sent per day, last {len(days)} days: {total} in all</title>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 4}" y2="{TOP + plot_h}" stroke="#b8bfcc"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11" fill="#5b6475">{peak}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11" fill="#5b6475">0</text>',
    ]
    for index, day in enumerate(days):
        x = LEFT + index * slot + (slot - bar) / 2
        y = TOP + plot_h
        summary = ", ".join(f"{n} {name}" for name, _, n in day.grouped() if n) or "none"
        parts.append(f"<g><title>{escape(day.day.isoformat())}: {escape(summary)}</title>")
        for _name, colour, n in day.grouped():
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}"/>')
        parts.append(f'<rect x="{x:.1f}" y="{TOP}" width="{bar:.1f}" height="{plot_h}" fill="transparent"/></g>')
        if (len(days) - 1 - index) % 7 == 0:  # today, and every week back from it
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" font-size="11" fill="#5b6475">'
                f"{day.day.strftime('%d %b')}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
