"""Draw the site's icons: the SVG favicon and its PNG/ICO renderings (browsers, home screens).

The picture is one geometry, written once here: a dark rounded square with the brand-red play
triangle. `python manage.py icons` rewrites static/icons/; the files are committed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from PIL import Image, ImageDraw

BOX = 64  # the SVG's viewBox side; every size below is scaled from it
RADIUS = 14
BACKGROUND = "#0f1014"
RED = "#d62f32"
TRIANGLE = [(24, 17), (49, 32), (24, 47)]
PNGS = {"favicon-32.png": 32, "apple-touch-icon.png": 180, "icon-192.png": 192, "icon-512.png": 512}
ICO_SIZES = [16, 32, 48]


def svg() -> str:
    points = " ".join(f"{x},{y}" for x, y in TRIANGLE)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {BOX} {BOX}">'
        f'<rect width="{BOX}" height="{BOX}" rx="{RADIUS}" fill="{BACKGROUND}"/>'
        f'<polygon points="{points}" fill="{RED}"/></svg>\n'
    )


def raster(size: int) -> Image.Image:
    """The same picture at `size` px, drawn 4x larger and scaled down (smooth edges)."""
    big = size * 4
    scale = big / BOX
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=RADIUS * scale, fill=BACKGROUND)
    draw.polygon([(x * scale, y * scale) for x, y in TRIANGLE], fill=RED)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def manifest() -> dict[str, Any]:
    return {
        "name": "Streamsite",
        "short_name": "Streamsite",
        "start_url": "/",
        "display": "standalone",
        "background_color": BACKGROUND,
        "theme_color": BACKGROUND,
        "icons": [
            {"src": name, "sizes": f"{size}x{size}", "type": "image/png"}
            for name, size in PNGS.items()
            if size >= 192
        ]
        + [{"src": "favicon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }


class Command(BaseCommand):
    help = "Write static/icons/: favicon.svg, favicon.ico, PNG icons and the web app manifest."

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(settings.BASE_DIR) / "static" / "icons"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "favicon.svg").write_text(svg(), encoding="utf-8")
        for name, size in PNGS.items():
            raster(size).save(folder / name, optimize=True)
        raster(48).save(folder / "favicon.ico", sizes=[(s, s) for s in ICO_SIZES])
        (folder / "site.webmanifest").write_text(
            json.dumps(manifest(), indent=2) + "\n", encoding="utf-8"
        )
        self.stdout.write(f"Icons written to {folder}")
