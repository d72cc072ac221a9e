"""Apps depend on each other in one direction, read from the source's imports (ast).

accounts ← billing ← catalog ← media ← playback ← recommendations ← insights: an app imports
only apps to its left (insights, the staff dashboard, reads every domain and none reads it).
cdn knows content keys and sites, never titles: it imports none of the domain apps, while any
app may use it. Every app may use the project package (`streamsite`). Imports inside
functions count as much as those at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAIN = ["accounts", "billing", "catalog", "media", "playback", "recommendations", "insights"]
PROJECT = "streamsite"
CDN = "cdn"
APPS = [*CHAIN, CDN]


def allowed_imports(app: str) -> set[str]:
    if app == CDN:
        return {PROJECT}
    return {*CHAIN[: CHAIN.index(app)], CDN, PROJECT}


def imported_apps(source: str) -> list[tuple[str, int]]:
    """(top-level package, line) of every absolute import of a project app in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top in (*APPS, PROJECT):
                found.append((top, node.lineno))
    return found


def violations(app: str, files: dict[str, str]) -> list[str]:
    allowed = allowed_imports(app) | {app}
    return [
        f"{name}:{line} imports {top}"
        for name, source in sorted(files.items())
        for top, line in imported_apps(source)
        if top not in allowed
    ]


def app_sources(app: str) -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for path in sorted((ROOT / app).rglob("*.py"))
    }


@pytest.mark.parametrize("app", APPS)
def test_the_app_imports_only_apps_to_its_left(app):
    sources = app_sources(app)
    assert len(sources) >= 5  # the app is really there and was read
    assert violations(app, sources) == []


def test_the_split_apps_exist_with_the_documented_layout():
    for app, files in {
        "media": ["models.py", "services.py", "selectors.py", "apis.py", "tasks.py", "admin.py"],
        "playback": ["apis", "models", "services", "selectors", "tasks.py", "admin.py", "views.py"],
    }.items():
        assert [f for f in files if not (ROOT / app / f).exists()] == []


def test_no_module_is_named_for_another_domain_by_suffix():
    """`apis_media.py`, `views_playback.py`, `playback_ports.py`: a domain hiding in an app."""
    domains = {"catalog", "media", "playback"}
    suffixed = [
        str(path.relative_to(ROOT))
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and (set(path.stem.split("_")) & domains) - {app}
    ]
    assert suffixed == []


def test_the_checker_catches_an_import_up_the_chain_and_a_cdn_import_of_titles():
    upward = "def f():\n    from playback.models import Progress\n"
    assert violations("catalog", {"catalog/x.py": upward}) == ["catalog/x.py:2 imports playback"]
    titles = "import catalog.models\nfrom cdn import signing\nfrom streamsite import env\n"
    assert violations(CDN, {"cdn/y.py": titles}) == ["cdn/y.py:1 imports catalog"]
    assert violations("recommendations", {"r.py": upward + titles}) == []
