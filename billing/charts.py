"""Server-side SVG bar charts for the admin revenue view (no JavaScript)."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def bar_chart(
    bars: list[tuple[str, int]],
    *,
    width: int = 640,
    height: int = 220,
    label: str = "",
    value_format=str,  # type: ignore[no-untyped-def]
) -> SafeString:
    """Vertical bars with their values on top and labels below; accessible title."""
    pad_top, pad_bottom, pad_side = 24, 40, 12
    count = max(1, len(bars))
    slot = (width - 2 * pad_side) / count
    bar_width = max(4.0, slot * 0.6)
    top = max([value for _, value in bars] + [1])
    plot_height = height - pad_top - pad_bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
        f'<rect width="{width}" height="{height}" fill="#1a1c23" rx="8"/>',
    ]
    for index, (name, value) in enumerate(bars):
        bar_height = 0 if top == 0 else plot_height * value / top
        x = pad_side + index * slot + (slot - bar_width) / 2
        y = pad_top + plot_height - bar_height
        center = x + bar_width / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width:.1f}" height="{bar_height:.1f}" '
            f'fill="#e5383b"><title>{escape(name)}: {escape(value_format(value))}</title></rect>'
        )
        parts.append(
            f'<text x="{center:.1f}" y="{y - 6:.1f}" fill="#e8e9ee" font-size="11" '
            f'text-anchor="middle">{escape(value_format(value))}</text>'
        )
        parts.append(
            f'<text x="{center:.1f}" y="{height - pad_bottom + 16}" fill="#9a9db0" '
            f'font-size="11" text-anchor="middle">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
