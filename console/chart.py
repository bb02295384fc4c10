"""Geometry of the weekly chart drawn as inline SVG (no chart library in the browser). Pure.

Bars are the weekly counts; the threshold is a step line through each week's upperbound (a gap where
the detector had none); the alert week's bar is marked. ``y`` grows downwards as in SVG.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 10, 28


def nice_max(value: float) -> float:
    """The smallest of 1, 2, 5 × 10^k at or above ``value`` (axis top).

    >>> nice_max(7), nice_max(12), nice_max(0)
    (10.0, 20.0, 1.0)
    """
    if value <= 1:
        return 1.0
    k = 10 ** math.floor(math.log10(value))
    return float(next(m * k for m in (1, 2, 5, 10) if m * k >= value))


def weekly_chart(weeks: Sequence[str], counts: Sequence[float], thresholds: Sequence[float | None],
                 alert_week: str | None) -> dict[str, Any]:
    n = max(len(weeks), 1)
    top = nice_max(max([*counts, *[t for t in thresholds if t is not None], 0.0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / n

    def y(v: float) -> float:
        return round(TOP + plot_h * (1 - min(v, top) / top), 1)

    bars = [{"x": round(LEFT + i * step + step * 0.1, 1), "y": y(c), "w": round(step * 0.8, 1),
             "h": round(TOP + plot_h - y(c), 1), "week": w, "count": int(c), "alert": w == alert_week}
            for i, (w, c) in enumerate(zip(weeks, counts))]
    segments: list[str] = []
    current: list[str] = []
    for i, t in enumerate(thresholds):
        if t is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        x0, x1 = round(LEFT + i * step, 1), round(LEFT + (i + 1) * step, 1)
        current += [f"{x0},{y(t)}", f"{x1},{y(t)}"]
    if current:
        segments.append(" ".join(current))
    ticks = [{"y": y(top * f), "label": _label(top * f)} for f in (0, 0.5, 1)]
    labels = [{"x": round(LEFT + i * step, 1), "label": w[-3:]} for i, w in enumerate(weeks) if i % 13 == 0]
    return {"width": WIDTH, "height": HEIGHT, "bars": bars, "threshold": segments, "ticks": ticks,
            "labels": labels, "left": LEFT, "right": WIDTH - RIGHT, "baseline": TOP + plot_h,
            "label_y": HEIGHT - 8}


def _label(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"
