"""A readable device name from a User-Agent header ("Firefox on Linux"), no library needed."""

from __future__ import annotations

import re

_BROWSERS = [
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Safari", re.compile(r"Version/[\d.]+.*Safari/")),
    ("curl", re.compile(r"^curl/")),
    ("Python", re.compile(r"python-requests|python-httpx|Python-urllib")),
]
_SYSTEMS = [
    ("iPad", re.compile(r"iPad")),
    ("iPhone", re.compile(r"iPhone")),
    ("Android", re.compile(r"Android")),
    ("Chrome OS", re.compile(r"CrOS")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Smart TV", re.compile(r"SmartTV|SMART-TV|Tizen|Web0S|BRAVIA", re.I)),
    ("Linux", re.compile(r"Linux|X11")),
]


def device_name(user_agent: str) -> str:
    if not user_agent:
        return "Unknown device"
    browser = next((name for name, rx in _BROWSERS if rx.search(user_agent)), None)
    system = next((name for name, rx in _SYSTEMS if rx.search(user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"
