"""Operators' catalogue import from JSON or CSV (schema in docs/catalog.md). Upserts by external
id, else by slug; each bad record is reported with its file and record/line number and skipped."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import slugify
from django.utils.timezone import make_aware
from django.utils.translation import gettext

from catalog.models import ContentRating, Credit, Episode, ExternalId, Season, Title
from catalog.services.search_index import search_index_drain
from catalog.services.titles import availability_set, genre_get_or_create, person_get_or_create
from streamsite.errors import ValidationFailed

FIELDS = {"name", "kind", "slug", "year", "synopsis", "runtime_minutes", "rating"}


@dataclass
class CatalogImportReport:
    created: int = 0
    updated: int = 0
    skipped: list[str] = field(default_factory=list)


def _when(value: Any, label: str) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value)
    parsed = parse_datetime(text)
    if parsed is None:
        day = parse_date(text)
        if day is None:
            raise ValidationFailed(f"{label} is not a date: {text!r}")
        parsed = datetime(day.year, day.month, day.day)
    return parsed if parsed.tzinfo else make_aware(parsed)


def _split(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value or "").split("|") if v.strip()]


def _int(value: Any, label: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{label} must be a whole number, got {value!r}") from None


def records_from_csv(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """CSV columns as in the JSON schema; lists are '|'-separated; see docs/catalog.md."""
    rows: list[tuple[str, dict[str, Any]]] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            record: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
            for key in ("genres", "tags", "cast", "directors"):
                if key in record:
                    record[key] = _split(record[key])
            if "countries" in record:
                codes = _split(record.pop("countries"))
                starts, ends = (
                    record.pop("available_from", None),
                    record.pop("available_until", None),
                )
                record["availability"] = [
                    {"country": "" if c == "*" else c, "starts": starts, "ends": ends}
                    for c in codes
                ]
            ids = {}
            for key in [k for k in record if k.endswith("_id") and k != "runtime_id"]:
                ids[key.removesuffix("_id")] = record.pop(key)
            if ids:
                record["external_ids"] = ids
            rows.append((f"{path.name}:{reader.line_num}", record))
    return rows


def records_from_json(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"{path.name}: not valid JSON ({exc})") from None
    if isinstance(data, dict):
        data = data.get("titles", [])
    if not isinstance(data, list):
        raise ValidationFailed(f"{path.name}: expected a list of titles or {{'titles': [...]}}")
    return [(f"{path.name}: record {i}", record) for i, record in enumerate(data, start=1)]


@transaction.atomic
def _upsert(record: dict[str, Any]) -> bool:
    """Create or update one title; True when created."""
    if not isinstance(record, dict) or not str(record.get("name", "")).strip():
        raise ValidationFailed(gettext("a title needs a name"))
    kind = record.get("kind", Title.Kind.MOVIE)
    if kind not in Title.Kind.values:
        raise ValidationFailed(f"kind must be movie or series, got {kind!r}")
    rating = record.get("rating", ContentRating.NR)
    if rating not in ContentRating.values:
        raise ValidationFailed(f"unknown rating {rating!r}")
    year = _int(record.get("year"), "year")
    ext = {str(k): str(v) for k, v in (record.get("external_ids") or {}).items()}
    slug = record.get("slug") or slugify(f"{record['name']} {year or ''}")[:200]
    title = None
    for source, value in ext.items():
        found = (
            ExternalId.objects.filter(source=source, value=value).select_related("title").first()
        )
        if found:
            title = found.title
            break
    if title is None:
        title = Title.objects.filter(slug=slug).first()
    created = title is None
    if title is None:
        title = Title(slug=slug)
    title.name = str(record["name"]).strip()[:200]
    title.kind = kind
    title.year = year
    title.synopsis = str(record.get("synopsis", ""))
    title.runtime_minutes = _int(record.get("runtime_minutes"), "runtime_minutes")
    title.rating = rating
    title.original_language = str(record.get("original_language", ""))[:16]
    title.tags = _split(record.get("tags", []))
    published = record.get("published", True)
    title.is_published = str(published).lower() not in ("false", "0", "no")
    title.save()
    for source, value in ext.items():
        ExternalId.objects.update_or_create(source=source, value=value, defaults={"title": title})
    title.genres.set([genre_get_or_create(name=g) for g in _split(record.get("genres", []))])
    Credit.objects.filter(title=title).delete()
    for order, entry in enumerate(record.get("cast", []) or []):
        name, character = (
            (entry, "")
            if isinstance(entry, str)
            else (entry.get("name", ""), entry.get("character", ""))
        )
        Credit.objects.get_or_create(
            title=title,
            person=person_get_or_create(name=name),
            role=Credit.Role.ACTOR,
            defaults={"character": character, "order": order},
        )
    for order, name in enumerate(_split(record.get("directors", []))):
        Credit.objects.get_or_create(
            title=title,
            person=person_get_or_create(name=name),
            role=Credit.Role.DIRECTOR,
            defaults={"order": order},
        )
    windows = []
    for window in record.get("availability", [{"country": ""}]) or []:
        starts = _when(window.get("starts"), "starts") or title.created_at
        windows.append((window.get("country", ""), starts, _when(window.get("ends"), "ends")))
    availability_set(title=title, windows=windows)
    for season_data in record.get("seasons", []) or []:
        number = _int(season_data.get("number"), "season number")
        if number is None:
            raise ValidationFailed(gettext("a season needs a number"))
        season, _ = Season.objects.update_or_create(
            title=title, number=number, defaults={"name": season_data.get("name", "")}
        )
        for ep in season_data.get("episodes", []) or []:
            ep_number = _int(ep.get("number"), "episode number")
            if ep_number is None or not ep.get("name"):
                raise ValidationFailed(gettext("an episode needs a number and a name"))
            Episode.objects.update_or_create(
                season=season,
                number=ep_number,
                defaults={
                    "name": ep["name"],
                    "synopsis": ep.get("synopsis", ""),
                    "runtime_minutes": _int(ep.get("runtime_minutes"), "runtime_minutes"),
                },
            )
    return created


def import_catalog(
    *, path: Path, warn: Callable[[str], None] = lambda m: None, progress: Any = None
) -> CatalogImportReport:
    if path.suffix.lower() == ".json":
        records = records_from_json(path)
    elif path.suffix.lower() == ".csv":
        records = records_from_csv(path)
    else:
        raise ValidationFailed(f"{path.name}: expected a .json or .csv file")
    report = CatalogImportReport()
    for where, record in progress(records) if progress else records:
        try:
            if _upsert(record):
                report.created += 1
            else:
                report.updated += 1
        except (ValidationFailed, AttributeError, TypeError) as exc:
            message = f"{where}: {getattr(exc, 'message', exc)}; skipped"
            report.skipped.append(message)
            warn(message)
    search_index_drain()
    return report
