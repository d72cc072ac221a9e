"""A small inline SVG line chart of NDCG@10 and Recall@10 over model versions (no JS)."""

from __future__ import annotations

from django.utils.html import escape

WIDTH, HEIGHT, PAD = 640, 220, 40
SERIES = (("NDCG@10", 1, "#2563eb"), ("Recall@10", 2, "#16a34a"))


def metrics_chart_svg(points: list[tuple[int, float, float]]) -> str:
    """`points` are (version id, ndcg, recall) oldest first; returns an <svg> element."""
    if not points:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="60" role="img" '
            'aria-label="No evaluated model versions yet"><text x="10" y="35">'
            "No evaluated model versions yet: train one with manage.py recs_train.</text></svg>"
        )
    top = max(max(p[1], p[2]) for p in points) or 1.0
    top = min(1.0, top * 1.15)
    n = len(points)

    def x(i: int) -> float:
        return PAD + (i * (WIDTH - 2 * PAD) / (n - 1) if n > 1 else (WIDTH - 2 * PAD) / 2)

    def y(v: float) -> float:
        return HEIGHT - PAD - (v / top) * (HEIGHT - 2 * PAD)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-label="NDCG@10 and Recall@10 over model versions" class="recs-metrics-chart">',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'stroke="#999"/>',
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>',
        f'<text x="4" y="{PAD + 4}" font-size="11">{top:.2f}</text>',
        f'<text x="4" y="{HEIGHT - PAD + 4}" font-size="11">0</text>',
    ]
    for i, p in enumerate(points):
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - PAD + 16}" font-size="11" '
            f'text-anchor="middle">#{p[0]}</text>'
        )
    for label, col, colour in SERIES:
        coords = " ".join(f"{x(i):.1f},{y(p[col]):.1f}" for i, p in enumerate(points))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}">'
            f"<title>{escape(label)}</title></polyline>"
        )
        for i, p in enumerate(points):
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(p[col]):.1f}" r="3" fill="{colour}">'
                f"<title>#{p[0]} {escape(label)} {p[col]:.4f}</title></circle>"
            )
    for j, (label, _col, colour) in enumerate(SERIES):
        lx = WIDTH - PAD - 200 + j * 100
        parts.append(f'<rect x="{lx}" y="8" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 16}" y="18" font-size="12">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
