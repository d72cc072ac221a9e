"""The ladder as a small inline SVG: bitrate bars per rendition, quality written above each."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from media.models import Rendition

WIDTH, HEIGHT, PAD, TOP = 460, 200, 36, 28


def ladder_svg(renditions: Sequence[Rendition]) -> SafeString:
    if not renditions:
        return mark_safe('<p class="help">No renditions yet: the chart appears when ready.</p>')  # noqa: S308
    peak = max(r.average_bandwidth for r in renditions) or 1
    slot = (WIDTH - 2 * PAD) / len(renditions)
    bar = slot * 0.6
    plot = HEIGHT - PAD - TOP
    items = []
    for i, r in enumerate(renditions):
        h = plot * r.average_bandwidth / peak
        x = PAD + i * slot + (slot - bar) / 2
        y = TOP + plot - h
        quality = (
            f"VMAF {r.vmaf:.1f}"
            if r.vmaf is not None
            else (f"SSIM {r.ssim:.3f}" if r.ssim is not None else "quality n/a")
        )
        items.append(
            (
                f"{x:.1f}",
                f"{y:.1f}",
                f"{bar:.1f}",
                f"{h:.1f}",
                f"{x + bar / 2:.1f}",
                f"{y - 14:.1f}",
                f"{r.average_bandwidth / 1000:.0f} kb/s",
                f"{y - 3:.1f}",
                quality,
                f"{HEIGHT - PAD + 16:.1f}",
                f"{r.width}x{r.height}",
            )
        )
    bars = format_html_join(
        "",
        '<rect x="{0}" y="{1}" width="{2}" height="{3}" fill="#417690" rx="2"></rect>'
        '<text x="{4}" y="{5}" text-anchor="middle" font-size="10">{6}</text>'
        '<text x="{4}" y="{7}" text-anchor="middle" font-size="10" fill="#2a7d2a">{8}</text>'
        '<text x="{4}" y="{9}" text-anchor="middle" font-size="10">{10}</text>',
        items,
    )
    return format_html(
        '<svg class="ladder-chart" role="img" aria-label="Encoding ladder: average bitrate and '
        'quality per rendition" width="{}" height="{}" viewBox="0 0 {} {}">'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"></line>{}</svg>',
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        PAD,
        HEIGHT - PAD,
        WIDTH - PAD,
        HEIGHT - PAD,
        bars,
    )
