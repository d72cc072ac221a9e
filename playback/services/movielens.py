"""MovieLens import (ml-100k and ml-latest-small layouts): titles, users as accounts+profiles,
ratings as viewing events and ratings. Bulk writes in chunks; idempotent; bad lines skipped."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils.text import slugify

from accounts.models import Profile, User
from catalog.models import Availability, ExternalId, Genre, Title
from catalog.services.search_index import search_index_drain
from playback.models import ThumbRating, ViewingEvent
from playback.services.activity import popularity_refresh
from playback.signals import activity_imported
from streamsite.errors import ValidationFailed

SOURCE = "movielens"
CHUNK = 5000
# ml-100k ships u.genre; this is its content, used when the file is missing.
ML100K_GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip
# A star rating at or above this becomes thumbs up; below, thumbs down. The stars are kept.
THUMBS_UP_FROM = 3.5
YEAR_RE = re.compile(r"\s*\((\d{4})\)\s*$")
ARTICLE_RE = re.compile(r"^(.*), (The|A|An|Les|La|Le|L'|Il|Die|Der|Das|El)$")


@dataclass
class Movie:
    ml_id: int
    name: str
    year: int | None
    genres: list[str]


@dataclass
class RatingRow:
    user: int
    movie: int
    score: float
    at: datetime
    where: str  # "file:line", for reporting


@dataclass
class ImportReport:
    layout: str = ""
    titles_created: int = 0
    titles_existing: int = 0
    profiles_created: int = 0
    ratings: int = 0
    events_created: int = 0
    skipped: list[str] = field(default_factory=list)


def split_title(raw: str) -> tuple[str, int | None]:
    """'Shawshank Redemption, The (1994)' -> ('The Shawshank Redemption', 1994)."""
    raw = raw.strip()
    year = None
    match = YEAR_RE.search(raw)
    if match:
        year = int(match.group(1))
        raw = raw[: match.start()].strip()
    article = ARTICLE_RE.match(raw)
    if article:
        raw = f"{article.group(2)} {article.group(1)}"
    return raw, year


def detect_layout(path: Path) -> str:
    if (path / "u.data").is_file() and (path / "u.item").is_file():
        return "ml-100k"
    if (path / "ratings.csv").is_file() and (path / "movies.csv").is_file():
        return "ml-latest-small"
    raise ValidationFailed(
        f"{path} is not a MovieLens directory: expected u.data + u.item (ml-100k) "
        "or ratings.csv + movies.csv (ml-latest-small)."
    )


class _Reader:
    """Reads lines and collects 'file:line: reason' for each malformed one."""

    def __init__(self, report: ImportReport, warn: Callable[[str], None]):
        self.report = report
        self.warn = warn

    def bad(self, path: Path, lineno: int, reason: str) -> None:
        message = f"{path.name}:{lineno}: {reason}; skipped"
        self.report.skipped.append(message)
        self.warn(message)

    def bad_at(self, where: str, reason: str) -> None:
        message = f"{where}: {reason}; skipped"
        self.report.skipped.append(message)
        self.warn(message)

    def lines(self, path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
        with path.open(encoding=encoding, errors="replace", newline="") as fh:
            for lineno, line in enumerate(fh, start=1):
                line = line.rstrip("\r\n")
                if line.strip():
                    yield lineno, line

    def csv_rows(self, path: Path, header: list[str]) -> Iterator[tuple[int, list[str]]]:
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            for lineno, row in enumerate(csv.reader(fh), start=1):
                if lineno == 1 and [c.strip() for c in row] == header:
                    continue
                if row:
                    yield lineno, row


def _parse_ml100k(path: Path, r: _Reader) -> tuple[list[Movie], list[RatingRow], set[int]]:
    genres = list(ML100K_GENRES)
    if (path / "u.genre").is_file():
        genres = []
        for lineno, line in r.lines(path / "u.genre", "latin-1"):
            parts = line.split("|")
            if len(parts) != 2 or not parts[1].strip().isdigit():
                r.bad(path / "u.genre", lineno, "expected 'name|index'")
                continue
            genres.append(parts[0].strip())
    movies = []
    for lineno, line in r.lines(path / "u.item", "latin-1"):
        parts = line.split("|")
        if len(parts) != 5 + len(genres) or not parts[0].strip().isdigit():
            r.bad(path / "u.item", lineno, f"expected {5 + len(genres)} '|' fields with an id")
            continue
        name, year = split_title(parts[1])
        if year is None and re.search(r"\d{4}$", parts[2].strip()):
            year = int(parts[2].strip()[-4:])
        flags = parts[5:]
        if not name or any(f.strip() not in ("0", "1") for f in flags):
            r.bad(path / "u.item", lineno, "missing title or genre flags not 0/1")
            continue
        names = [
            g for g, f in zip(genres, flags, strict=True) if f.strip() == "1" and g != "unknown"
        ]
        movies.append(Movie(int(parts[0]), name, year, names))
    users: set[int] = set()
    if (path / "u.user").is_file():
        for lineno, line in r.lines(path / "u.user", "latin-1"):
            parts = line.split("|")
            if len(parts) != 5 or not parts[0].strip().isdigit():
                r.bad(path / "u.user", lineno, "expected 'id|age|gender|occupation|zip'")
                continue
            users.add(int(parts[0]))
    ratings = []
    for lineno, line in r.lines(path / "u.data"):
        rating = _rating(line.split("\t"), path / "u.data", lineno, r)
        if rating:
            ratings.append(rating)
    return movies, ratings, users


def _parse_latest(path: Path, r: _Reader) -> tuple[list[Movie], list[RatingRow], set[int]]:
    movies = []
    for lineno, row in r.csv_rows(path / "movies.csv", ["movieId", "title", "genres"]):
        if len(row) != 3 or not row[0].strip().isdigit() or not row[1].strip():
            r.bad(path / "movies.csv", lineno, "expected movieId,title,genres")
            continue
        name, year = split_title(row[1])
        genres = [g for g in row[2].split("|") if g and g != "(no genres listed)"]
        movies.append(Movie(int(row[0]), name, year, genres))
    ratings = []
    header = ["userId", "movieId", "rating", "timestamp"]
    for lineno, row in r.csv_rows(path / "ratings.csv", header):
        rating = _rating(row, path / "ratings.csv", lineno, r)
        if rating:
            ratings.append(rating)
    return movies, ratings, set()


def _rating(parts: list[str], path: Path, lineno: int, r: _Reader) -> RatingRow | None:
    if len(parts) != 4:
        r.bad(path, lineno, "expected 4 fields: user, movie, rating, timestamp")
        return None
    try:
        user, movie, score, ts = int(parts[0]), int(parts[1]), float(parts[2]), int(parts[3])
    except ValueError:
        r.bad(path, lineno, "user, movie and timestamp must be integers, rating a number")
        return None
    if not 0.5 <= score <= 5.0:
        r.bad(path, lineno, f"rating {parts[2]} outside 0.5-5")
        return None
    return RatingRow(
        user, movie, score, datetime.fromtimestamp(ts, tz=UTC), f"{path.name}:{lineno}"
    )


def import_movielens(
    *,
    path: Path,
    warn: Callable[[str], None] = lambda message: None,
    progress: Callable[..., Any] | None = None,
) -> ImportReport:
    """Import a MovieLens directory. Re-running creates nothing twice (external ids, import keys,
    unique ratings). `progress(total=n, desc=...)` returns a tqdm-like bar (update/close)."""
    layout = detect_layout(path)
    report = ImportReport(layout=layout)
    reader = _Reader(report, warn)
    parse = _parse_ml100k if layout == "ml-100k" else _parse_latest
    movies, ratings, users = parse(path, reader)

    title_ids = _import_titles(movies, report)
    known = []
    for rating in ratings:
        if rating.movie not in title_ids:
            reader.bad_at(rating.where, f"rating of unknown movie {rating.movie}")
            continue
        known.append(rating)
    users |= {rating.user for rating in known}
    profile_ids = _import_users(sorted(users), report)

    events_before = ViewingEvent.objects.filter(import_key__startswith=f"{SOURCE}:").count()
    bar = progress(total=len(known), desc="ratings") if progress else None
    for start in range(0, len(known), CHUNK):
        chunk = known[start : start + CHUNK]
        _import_ratings(chunk, title_ids, profile_ids, report)
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    report.events_created = (
        ViewingEvent.objects.filter(import_key__startswith=f"{SOURCE}:").count() - events_before
    )
    popularity_refresh()
    search_index_drain()
    activity_imported.send(sender=import_movielens, progress=progress)
    return report


def _import_titles(movies: list[Movie], report: ImportReport) -> dict[int, int]:
    """MovieLens id -> title id, creating missing titles with genres, available everywhere."""
    existing = {
        int(value): title_id
        for value, title_id in ExternalId.objects.filter(source=SOURCE).values_list(
            "value", "title_id"
        )
    }
    new = [m for m in {m.ml_id: m for m in movies}.values() if m.ml_id not in existing]
    report.titles_existing = sum(1 for m in movies if m.ml_id in existing)
    if not new:
        return existing
    genres = {g.name: g.pk for g in Genre.objects.all()}
    for name in sorted({g for m in new for g in m.genres} - set(genres)):
        slug = slugify(name) or f"genre-{len(genres)}"
        while Genre.objects.filter(slug=slug).exists():
            slug += "-1"
        genres[name] = Genre.objects.create(name=name, slug=slug).pk
    taken = set(Title.objects.values_list("slug", flat=True))
    with transaction.atomic():
        titles = []
        for movie in new:
            base = slugify(f"{movie.name} {movie.year or ''}")[:190] or "title"
            slug = base if base not in taken else f"{base}-ml{movie.ml_id}"
            taken.add(slug)
            titles.append(
                Title(name=movie.name[:200], slug=slug, year=movie.year, is_published=True)
            )
        Title.objects.bulk_create(titles, batch_size=1000)
        if any(t.pk is None for t in titles):  # backends that do not return ids
            by_slug = dict(
                Title.objects.filter(slug__in=[t.slug for t in titles]).values_list("slug", "pk")
            )
            for t in titles:
                t.pk = by_slug[t.slug]
        ExternalId.objects.bulk_create(
            [
                ExternalId(title_id=t.pk, source=SOURCE, value=str(m.ml_id))
                for t, m in zip(titles, new, strict=True)
            ],
            batch_size=1000,
        )
        through = Title.genres.through
        through.objects.bulk_create(
            [
                through(title_id=t.pk, genre_id=genres[g])
                for t, m in zip(titles, new, strict=True)
                for g in dict.fromkeys(m.genres)
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        Availability.objects.bulk_create(
            [Availability(title_id=t.pk, country=Availability.EVERYWHERE) for t in titles],
            batch_size=1000,
        )
    report.titles_created = len(titles)
    return existing | {m.ml_id: t.pk for t, m in zip(titles, new, strict=True)}


def _import_users(user_ids: list[int], report: ImportReport) -> dict[int, int]:
    """MovieLens user id -> profile id: one account and one profile per user."""

    def key(uid: int) -> str:
        return f"{SOURCE}:{uid}"

    existing = {
        int(ext.split(":", 1)[1]): pk
        for ext, pk in Profile.objects.filter(external_id__startswith=f"{SOURCE}:").values_list(
            "external_id", "pk"
        )
    }
    missing = [uid for uid in user_ids if uid not in existing]
    if not missing:
        return existing
    unusable = make_password(None)
    with transaction.atomic():
        User.objects.bulk_create(
            [
                User(email=f"movielens-{uid}@movielens.invalid", password=unusable)
                for uid in missing
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        accounts = dict(
            User.objects.filter(
                email__in=[f"movielens-{uid}@movielens.invalid" for uid in missing]
            ).values_list("email", "pk")
        )
        Profile.objects.bulk_create(
            [
                Profile(
                    account_id=accounts[f"movielens-{uid}@movielens.invalid"],
                    name=f"MovieLens {uid}",
                    external_id=key(uid),
                )
                for uid in missing
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
    created = dict(
        Profile.objects.filter(external_id__in=[key(uid) for uid in missing]).values_list(
            "external_id", "pk"
        )
    )
    report.profiles_created = len(created)
    return existing | {int(ext.split(":", 1)[1]): pk for ext, pk in created.items()}


def _import_ratings(
    chunk: list[RatingRow],
    title_ids: dict[int, int],
    profile_ids: dict[int, int],
    report: ImportReport,
) -> None:
    """One multi-row statement per table per chunk. Raw SQL because building model instances
    costs more than the insert itself; ON CONFLICT (PostgreSQL and SQLite >= 3.24) keeps re-runs
    idempotent: events are skipped by their import key, ratings updated in place."""
    latest: dict[tuple[int, int], RatingRow] = {}
    for row in chunk:  # the same pair twice in one chunk: the later line wins
        latest[(row.user, row.movie)] = row
    adapt = connection.ops.adapt_datetimefield_value
    event_rows = []
    rating_rows = []
    for row in latest.values():
        at = adapt(row.at)
        profile_id, title_id = profile_ids[row.user], title_ids[row.movie]
        event_rows.append(
            (
                profile_id,
                title_id,
                ViewingEvent.Type.COMPLETE,
                0,
                0,
                at,
                f"{SOURCE}:{row.user}:{row.movie}",
            )
        )
        value = ThumbRating.UP if row.score >= THUMBS_UP_FROM else ThumbRating.DOWN
        rating_rows.append((profile_id, title_id, value, row.score, at))
    events = ViewingEvent._meta.db_table
    ratings = ThumbRating._meta.db_table
    # Only rewrite a rating that differs, so a re-run reads instead of rewriting every row.
    differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    changed = " OR ".join(
        f"{ratings}.{col} {differs} excluded.{col}" for col in ("value", "score", "rated_at")
    )
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(event_rows), 500):
            batch = event_rows[start : start + 500]
            cursor.execute(
                f"INSERT INTO {events} (profile_id, title_id, event_type, position_seconds, "  # noqa: S608
                f"duration_seconds, occurred_at, import_key) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(batch))
                + " ON CONFLICT DO NOTHING",
                [v for r in batch for v in r],
            )
        for start in range(0, len(rating_rows), 500):
            rbatch = rating_rows[start : start + 500]
            cursor.execute(
                f"INSERT INTO {ratings} (profile_id, title_id, value, score, rated_at) VALUES "  # noqa: S608
                + ", ".join(["(%s, %s, %s, %s, %s)"] * len(rbatch))
                + " ON CONFLICT (profile_id, title_id) DO UPDATE SET value = excluded.value, "
                "score = excluded.score, rated_at = excluded.rated_at WHERE " + changed,
                [v for r in rbatch for v in r],
            )
    report.ratings += len(latest)
