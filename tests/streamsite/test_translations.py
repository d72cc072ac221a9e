"""The translations are complete and current: every marked string of the sources is in each
locale/<lang>/LC_MESSAGES/django.po, translated, not fuzzy, with the same placeholders."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def catalog(language: str, root: Path = ROOT) -> Catalog:
    with (root / "locale" / language / "LC_MESSAGES" / "django.po").open("rb") as po:
        return read_po(po, locale=language)


def msgids(cat: Catalog) -> set[str | tuple[str, ...]]:
    return {
        message.id if isinstance(message.id, str) else tuple(message.id)
        for message in cat
        if message.id
    }


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def test_the_site_offers_english_spanish_and_german():
    assert settings.LANGUAGES == [("en", "English"), ("es", "Español"), ("de", "Deutsch")]
    assert TRANSLATED == ["es", "de"]
    assert sorted(p.name for p in (ROOT / "locale").iterdir()) == ["de", "es"]


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(language):
    cat = catalog(language)
    untranslated = [
        message.id
        for message in cat
        if message.id
        and (
            message.fuzzy
            or not message.string
            or (isinstance(message.string, tuple) and not all(message.string))
        )
    ]
    assert untranslated == []
    assert not cat.fuzzy  # a fuzzy header would keep the whole catalogue from compiling
    assert len(cat) > 400


@pytest.mark.parametrize("language", TRANSLATED)
def test_each_translation_keeps_the_placeholders_of_its_source(language):
    wrong = []
    for message in catalog(language):
        if not message.id:
            continue
        sources = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        # The first form is the singular's (es and de use it for one only); the rest, the plural's.
        wanted = [placeholders(sources[0])] + [placeholders(sources[-1])] * (len(strings) - 1)
        if [placeholders(text) for text in strings] != wanted:
            wrong.append(message.id)
    assert wrong == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalogue_declares_its_language_and_plural_rule(language):
    cat = catalog(language)
    assert str(cat.locale) == language
    assert cat.num_plurals == {"es": 3, "de": 2}[language]


def makemessages_args() -> list[str]:
    """The extraction options of `make messages`, read from the Makefile: one definition."""
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(r"^MAKEMESSAGES_ARGS = (.+)$", makefile, re.MULTILINE)
    assert match is not None
    return shlex.split(match.group(1))


def copy_sources(target: Path) -> None:
    """What makemessages reads (Python, templates, text) and the catalogues, nothing else."""
    skipped = {"node_modules", "var", "tests", "bench", "static", "docs", "deploy"}
    ignore = shutil.ignore_patterns(".*", "__pycache__", "*.mo", *skipped)
    for entry in ROOT.iterdir():
        if entry.name.startswith(".") or entry.name in skipped:
            continue
        if entry.is_dir():
            shutil.copytree(entry, target / entry.name, ignore=ignore, symlinks=True)
        elif entry.suffix == ".py":
            shutil.copy2(entry, target / entry.name)


@pytest.mark.needs_gettext
def test_the_catalogues_hold_exactly_the_strings_marked_in_the_sources(tmp_path):
    """Extract afresh from a copy of the sources (never writing to the work tree) and compare:
    a newly marked string missing from a .po, or a stale one left in it, fails here."""
    copy_sources(tmp_path)
    committed = {language: msgids(catalog(language)) for language in TRANSLATED}
    for language in TRANSLATED:
        (tmp_path / "locale" / language / "LC_MESSAGES" / "django.po").unlink()
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            *[f"--locale={x}" for x in TRANSLATED],
            *[a for a in makemessages_args() if a != "--all"],
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "streamsite.settings.test"},
    )
    assert result.returncode == 0, result.stderr
    for language in TRANSLATED:
        extracted = msgids(catalog(language, tmp_path))
        assert len(extracted) > 400
        assert sorted(map(str, extracted - committed[language])) == [], "run make messages"
        assert sorted(map(str, committed[language] - extracted)) == [], "stale: run make messages"
