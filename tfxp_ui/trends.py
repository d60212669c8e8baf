"""A metric across runs as a small inline SVG: no script, no library, drawn on the server."""
from __future__ import annotations

from typing import Optional, Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD, TOP = 320, 90, 8, 20  # TOP: room for the metric's name above the points


def trend_svg(metric: str, values: Sequence[Optional[float]], blessed: Sequence[Optional[bool]],
              runs: Sequence[str]) -> Markup:
    """One point per run (green: blessed, red: not), joined by a line; a run without the
    metric leaves a gap. Each point's tooltip names its run and value."""
    known = [v for v in values if v is not None]
    if not known:
        return Markup("")
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / max(1, len(values) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return PAD + i * step, HEIGHT - PAD - (v - low) / span * (HEIGHT - PAD - TOP)

    segments, current = [], []
    for i, v in enumerate(values):
        if v is None:
            segments, current = segments + [current] if current else segments, []
        else:
            current.append("%.1f,%.1f" % xy(i, v))
    segments += [current] if current else []
    lines = "".join(f'<polyline fill="none" stroke="#1a73e8" stroke-width="1.5" points="{" ".join(s)}"/>'
                    for s in segments)
    points = "".join(
        '<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>run %s: %.4f</title></circle>'
        % (*xy(i, v), "#188038" if b else "#d93025", escape(r), v)
        for i, (v, b, r) in enumerate(zip(values, blessed, runs)) if v is not None)
    return Markup(
        f'<svg class="trend" role="img" aria-label="{escape(metric)} across runs" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}"><title>{escape(metric)}: {low:.4f} to {high:.4f}</title>'
        f'<text x="{PAD}" y="13" font-size="11">{escape(metric)}: high {high:.4f}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 2}" font-size="11" text-anchor="end">low {low:.4f}</text>{lines}{points}</svg>')
