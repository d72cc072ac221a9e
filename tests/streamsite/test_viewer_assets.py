"""What the CSP and the browser need from every page: no inline styles in any template, the
favicon and app icons in place, /favicon.ico answered."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from streamsite.management.commands import icons

ROOT = Path(__file__).resolve().parents[2]
APPS = ["accounts", "billing", "catalog", "cdn", "media", "playback", "recommendations"]
INLINE_STYLE = re.compile(r"""\sstyle\s*=\s*["'{]""", re.I)


def templates() -> list[Path]:
    found = sorted((ROOT / "templates").rglob("*.html"))
    for app in APPS:
        found += sorted((ROOT / app / "templates").rglob("*.html"))
    return found


def test_no_template_or_html_helper_has_a_style_attribute():
    assert len(templates()) > 40  # the templates were really read
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in templates()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if INLINE_STYLE.search(line)
    ]
    for app in APPS:  # format_html in admin columns and the like
        for path in (ROOT / app).rglob("*.py"):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if "<" in line and INLINE_STYLE.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}")
    assert offenders == []


def test_the_checker_sees_a_style_attribute():
    assert INLINE_STYLE.search('<span style="width: 5%">')
    assert not INLINE_STYLE.search('<link rel="stylesheet" href="x.css">')


def test_icons_are_drawn_from_one_geometry_and_committed(tmp_path, settings):
    folder = ROOT / "static" / "icons"
    assert (folder / "favicon.svg").read_text(encoding="utf-8") == icons.svg()
    manifest = json.loads((folder / "site.webmanifest").read_text(encoding="utf-8"))
    assert manifest == icons.manifest()
    for entry in manifest["icons"]:
        assert (folder / entry["src"]).is_file()
    settings.BASE_DIR = tmp_path  # the command writes a fresh set there
    call_command("icons", stdout=StringIO())
    from PIL import Image

    for name, size in icons.PNGS.items():
        with Image.open(tmp_path / "static" / "icons" / name) as drawn:
            assert drawn.size == (size, size)
            # the corner is transparent (rounded), the centre-left is the red triangle
            assert drawn.getpixel((0, 0))[3] == 0
            assert drawn.getpixel((size * 30 // 64, size // 2))[:3] == (0xD6, 0x2F, 0x32)
    with Image.open(tmp_path / "static" / "icons" / "favicon.ico") as ico:
        assert ico.format == "ICO"


@pytest.mark.django_db
def test_favicon_ico_is_answered_and_every_page_links_the_icons(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/icons/favicon.ico"
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/icons/favicon.svg" type="image/svg+xml">' in html
    assert '<link rel="apple-touch-icon" href="/static/icons/apple-touch-icon.png">' in html
    assert '<link rel="manifest" href="/static/icons/site.webmanifest">' in html
