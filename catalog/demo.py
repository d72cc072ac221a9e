"""Demo catalogue (`make demo`): believable generated titles with Pillow artwork, people and
regional availability. The demo viewers and their taste-structured history are playback's
(`playback.demo.viewers`); TASTE_GROUPS here says which genres each group likes.

Deterministic (seeded) and idempotent: rows are keyed by external ids ("demo:<n>") and import keys,
so running it again creates nothing new. The taste ground truth is in docs/catalog.md.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from catalog.models import (
    Artwork,
    Availability,
    Credit,
    Episode,
    ExternalId,
    Genre,
    Person,
    Season,
    Title,
)
from catalog.services.artwork import artwork_store
from catalog.services.search_index import search_index_drain

SOURCE = "demo"
# plan_titles(random.Random(SEED)) gives the same titles to every seeder that asks.
SEED = 20261126
N_TITLES = 64
DEMO_PASSWORD = "streamsite-demo"  # noqa: S105 - printed demo credentials
COUNTRIES = ["US", "GB", "DE", "FR", "IN", "BR"]
# Source artwork sizes (stored sizes are derived from these; see catalog.services.artwork).
POSTER_SIZE = (600, 900)
BACKDROP_SIZE = (1600, 900)

# Genre -> (palette top, palette bottom, accent, motif, ratings to draw from)
GENRES: dict[str, tuple[str, str, str, str, list[str]]] = {
    "Action": ("#3b0d0c", "#d1462f", "#ffb703", "burst", ["PG-13", "R", "TV-14"]),
    "Adventure": ("#0b3c49", "#f4a259", "#fefae0", "mountains", ["PG", "PG-13", "TV-PG"]),
    "Animation": ("#ffafcc", "#7b2cbf", "#ffe66d", "bubbles", ["G", "TV-Y7", "PG"]),
    "Comedy": ("#ffd60a", "#ff7b00", "#1d3557", "confetti", ["PG", "PG-13", "TV-PG", "TV-14"]),
    "Crime": ("#0d1b2a", "#415a77", "#e0e1dd", "stripes", ["R", "TV-MA", "TV-14"]),
    "Documentary": ("#283618", "#dda15e", "#fefae0", "grid", ["TV-G", "PG", "TV-PG"]),
    "Drama": ("#1b263b", "#9d4edd", "#f1faee", "horizon", ["PG-13", "TV-14", "R"]),
    "Family": ("#8ecae6", "#219ebc", "#ffb703", "bubbles", ["G", "TV-Y", "TV-G"]),
    "Fantasy": ("#240046", "#5a189a", "#ffd166", "stars", ["PG", "PG-13", "TV-PG"]),
    "Horror": ("#000000", "#6a040f", "#e5e5e5", "moon", ["R", "TV-MA"]),
    "Romance": ("#ff758f", "#590d22", "#fff0f3", "bubbles", ["PG-13", "TV-14", "PG"]),
    "Sci-Fi": ("#03045e", "#00b4d8", "#caf0f8", "grid", ["PG-13", "TV-14", "R"]),
    "Thriller": ("#161a1d", "#a4161a", "#f5f3f4", "stripes", ["R", "TV-MA", "PG-13"]),
}

# Planted taste structure: group -> preferred genres (ground truth for recommendations).
TASTE_GROUPS: dict[str, list[str]] = {
    "thrill-seekers": ["Action", "Thriller", "Crime"],
    "dreamers": ["Fantasy", "Sci-Fi", "Adventure"],
    "heart": ["Romance", "Drama", "Comedy"],
    "night-owls": ["Horror", "Thriller", "Sci-Fi"],
    "families": ["Animation", "Family", "Comedy"],
    "curious": ["Documentary", "Drama", "Adventure"],
}

ADJ = ["Silent", "Crimson", "Hollow", "Golden", "Last", "Broken", "Electric", "Quiet", "Burning",
       "Hidden", "Northern", "Wild", "Midnight", "Paper", "Glass", "Iron", "Velvet", "Distant",
       "Frozen", "Lucky", "Secret", "Little", "Endless", "Copper"]  # fmt: skip
NOUN = ["Harbor", "Orchard", "Signal", "Kingdom", "Tide", "Letters", "Garden", "Empire", "Engine",
        "Lantern", "Frontier", "Circus", "Station", "River", "Compass", "Archive", "Crown",
        "Summer", "Protocol", "Mile", "Season", "Witness", "Canyon", "Parade"]  # fmt: skip
PLACE = ["Marrow Bay", "Eastwick", "Cold Spring", "Port Sable", "the Dunes", "Ardent Hill",
         "Lowmoor", "New Avalon", "the Outer Rim", "Saint Ives Road"]  # fmt: skip
FIRST = ["Ada", "Lu", "Ines", "Marcus", "Priya", "Tomas", "Noor", "Felix", "Hana", "Omar",
         "Greta", "Jonah", "Mei", "Rafael", "Sofia", "Kwame", "Elena", "Theo", "Yara", "Dmitri",
         "Lena", "Caleb", "Amara", "Hugo", "Isla", "Mateo", "Zora", "Emil", "Nadia",
         "Oskar"]  # fmt: skip
LAST = ["Marlow", "Chen", "Varga", "Okafor", "Lindqvist", "Rao", "Moreau", "Castillo", "Haddad",
        "Novak", "Brennan", "Sato", "Adeyemi", "Kowalski", "Duarte", "Fischer", "Ibsen", "Quinn",
        "Vance", "Abara", "Holm", "Petrov", "Sandoval", "Whitaker"]  # fmt: skip
HOOKS = {
    "Action": "a former courier has one night to outrun the crew that framed her",
    "Adventure": "three strangers follow a century-old map across a shifting desert",
    "Animation": "a small robot with a big heart sets out to repaint the moon",
    "Comedy": "two rival bakers are forced to share one tiny kitchen for a summer",
    "Crime": "a tired detective reopens the case that ended her partner's career",
    "Documentary": "a year inside the people who keep a remote lighthouse running",
    "Drama": "a family gathers for one last harvest before the farm is sold",
    "Family": "a grandmother and her grandson build a raft to reach the island fair",
    "Fantasy": "an apprentice cartographer discovers the maps are rewriting the world",
    "Horror": "the new tenants learn why the house was so cheap, one night at a time",
    "Romance": "two translators fall for each other through the margins of a novel",
    "Sci-Fi": "the crew of a salvage ship wakes up to a signal from their own future",
    "Thriller": "a sound engineer hears a crime hidden in the background of a recording",
}


@dataclass
class DemoTitle:
    key: str
    name: str
    kind: str
    genres: list[str]
    year: int
    rating: str
    synopsis: str
    runtime: int


def _font_path() -> str | None:
    for candidate in (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
        "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
    ):
        if Path(candidate).is_file():
            return candidate
    return None


@lru_cache(maxsize=32)
def _font(size: int) -> Any:
    path = _font_path()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)


def _plural(noun: str) -> str:
    """Compass -> Compasses, Circus -> Circuses, Letters stays, Harbor -> Harbors."""
    if noun.endswith(("ss", "us")):
        return noun + "es"
    return noun if noun.endswith("s") else noun + "s"


def plan_titles(rng: random.Random) -> list[DemoTitle]:
    names: set[str] = set()
    genres = list(GENRES)
    result = []
    for i in range(N_TITLES):
        primary = genres[i % len(genres)]
        second = rng.choice([g for g in genres if g != primary])
        while True:
            pattern = rng.randrange(4)
            if pattern == 0:
                name = f"The {rng.choice(ADJ)} {rng.choice(NOUN)}"
            elif pattern == 1:
                name = f"{_plural(rng.choice(NOUN))} of {rng.choice(PLACE)}"
            elif pattern == 2:
                name = f"{rng.choice(ADJ)} {rng.choice(NOUN)}"
            else:
                name = f"{rng.choice(FIRST)}'s {rng.choice(NOUN)}"
            if name not in names:
                names.add(name)
                break
        kind = Title.Kind.SERIES if i % 5 in (1, 3) else Title.Kind.MOVIE
        ratings = GENRES[primary][4]
        rating = rng.choice(ratings)
        if kind == Title.Kind.SERIES and not rating.startswith("TV-"):
            rating = {"G": "TV-G", "PG": "TV-PG", "PG-13": "TV-14", "R": "TV-MA"}.get(
                rating, rating
            )
        if kind == Title.Kind.MOVIE and rating.startswith("TV-"):
            rating = {"TV-Y": "G", "TV-Y7": "G", "TV-G": "G", "TV-PG": "PG", "TV-14": "PG-13"}.get(
                rating, "R"
            )
        where = rng.choice(PLACE)
        synopsis = (
            f"In {where}, {HOOKS[primary]}. "
            f"A {primary.lower()} {'series' if kind == 'series' else 'film'} with a streak of "
            f"{second.lower()}, about what we keep and what we let go."
        )
        result.append(
            DemoTitle(
                key=f"{SOURCE}:{i + 1}",
                name=name,
                kind=kind,
                genres=[primary, second] if rng.random() < 0.6 else [primary],
                year=rng.randint(1978, 2026),
                rating=rating,
                synopsis=synopsis,
                runtime=rng.randint(84, 152) if kind == Title.Kind.MOVIE else rng.randint(22, 58),
            )
        )
    return result


# --- artwork ------------------------------------------------------------------------------------


def _hex(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _gradient(size: tuple[int, int], top: str, bottom: str) -> Image.Image:
    w, h = size
    a, b = _hex(top), _hex(bottom)
    column = Image.new("RGB", (1, h))
    column.putdata(
        [tuple(int(a[c] + (b[c] - a[c]) * y / max(1, h - 1)) for c in range(3)) for y in range(h)]  # type: ignore[misc]
    )
    return column.resize((w, h))


def _motif(img: Image.Image, motif: str, accent: str, rng: random.Random) -> None:
    w, h = img.size
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    ac = (*_hex(accent), 90)
    if motif == "bubbles":
        for _ in range(14):
            r = rng.randint(w // 20, w // 5)
            x, y = rng.randint(0, w), rng.randint(0, h)
            d.ellipse((x - r, y - r, x + r, y + r), fill=(*_hex(accent), rng.randint(30, 90)))
    elif motif == "mountains":
        for layer_i in range(3):
            base = h * (0.55 + 0.12 * layer_i)
            pts: list[tuple[float, float]] = [(0, h)]
            for x in range(0, w + w // 6, w // 6):
                pts.append((x, base - rng.randint(0, h // 4)))
            pts.append((w, h))
            d.polygon(pts, fill=(0, 0, 0, 70 + 40 * layer_i))
    elif motif == "burst":
        cx, cy = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.3, 0.5)
        for k in range(24):
            angle = k * math.pi / 12
            d.polygon(
                [
                    (cx, cy),
                    (cx + math.cos(angle) * w * 1.5, cy + math.sin(angle) * w * 1.5),
                    (cx + math.cos(angle + 0.1) * w * 1.5, cy + math.sin(angle + 0.1) * w * 1.5),
                ],
                fill=ac,
            )
    elif motif == "stripes":
        step = max(8, w // 14)
        for x in range(-h, w, step * 2):
            d.polygon([(x, 0), (x + step, 0), (x + step + h, h), (x + h, h)], fill=(0, 0, 0, 70))
    elif motif == "grid":
        step = max(10, w // 12)
        for x in range(0, w, step):
            d.line([(x, h // 2), (w // 2 + (x - w // 2) * 3, h)], fill=ac, width=2)
        for y in range(h // 2, h, step // 2):
            d.line([(0, y), (w, y)], fill=ac, width=1)
    elif motif == "stars":
        for _ in range(120):
            x, y, r = rng.randint(0, w), rng.randint(0, h), rng.choice([1, 1, 2, 3])
            d.ellipse((x - r, y - r, x + r, y + r), fill=(*_hex(accent), rng.randint(120, 255)))
    elif motif == "moon":
        r = w // 4
        cx, cy = int(w * 0.68), int(h * 0.24)
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*_hex(accent), 200))
        d.ellipse(
            (cx - r + r // 3, cy - r - r // 6, cx + r + r // 3, cy + r - r // 6),
            fill=(0, 0, 0, 230),
        )
    elif motif == "confetti":
        for _ in range(90):
            x, y = rng.randint(0, w), rng.randint(0, h)
            s = rng.randint(4, max(6, w // 30))
            d.rectangle(
                (x, y, x + s, y + s // 2), fill=(*_hex(rng.choice([accent, "#ffffff"])), 150)
            )
    elif motif == "horizon":
        y0 = int(h * 0.62)
        d.rectangle((0, y0, w, h), fill=(0, 0, 0, 90))
        r = w // 5
        d.ellipse((w // 2 - r, y0 - r, w // 2 + r, y0 + r), fill=(*_hex(accent), 110))
    layer = layer.filter(ImageFilter.GaussianBlur(radius=max(1, w // 400)))
    img.paste(layer, (0, 0), layer)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def render_art(spec: DemoTitle, kind: str, seed: int) -> Image.Image:
    """A poster (2:3) or backdrop (16:9) with the title set in type over a genre motif."""
    rng = random.Random(seed)
    top, bottom, accent, motif, _ = GENRES[spec.genres[0]]
    size = POSTER_SIZE if kind == "poster" else BACKDROP_SIZE
    img = _gradient(size, top, bottom).convert("RGBA")
    _motif(img, motif, accent, rng)
    shade = _gradient(size, "#000000", "#000000").convert("RGBA")
    shade.putalpha(Image.linear_gradient("L").resize(size).point(lambda v: int(v * 0.75)))
    img = Image.alpha_composite(img, shade)
    draw = ImageDraw.Draw(img)
    w, h = size
    if kind == "poster":
        k = w / 600
        points = int((74 if len(spec.name) < 16 else 60) * k)
        while True:  # smaller type until the longest word fits the poster too
            font = _font(points)
            lines = _wrap(draw, spec.name.upper(), font, w - 80)
            widest = max(draw.textlength(line, font=font) for line in lines)
            if widest <= w - 80 or points <= 24 * k:
                break
            points = int(points * 0.9)
        y = h - 120 * k - len(lines) * font.size * 1.1
        for line in lines:
            draw.text(
                (40, y), line, font=font, fill="#ffffff", stroke_width=2, stroke_fill="#00000088"
            )
            y += font.size * 1.1
        small = _font(24)
        label = "A STREAMSITE SERIES" if spec.kind == "series" else "A STREAMSITE FILM"
        draw.text((40 * k, 40 * k), label, font=small, fill=(*_hex(accent), 255))
        draw.text((40 * k, h - 70 * k), f"{spec.year}  ·  {spec.rating}", font=small, fill="#ddd")
    else:
        k = w / 1600
        font = _font(int(96 * k))
        lines = _wrap(draw, spec.name, font, w // 2)
        y = h - 140 * k - len(lines) * font.size * 1.05
        for line in lines:
            draw.text((w - 80 * k, y), line, font=font, fill="#ffffff", anchor="ra")
            y += font.size * 1.05
    return img.convert("RGB")


# --- seeding ------------------------------------------------------------------------------------


def _windows(i: int, now: Any) -> list[tuple[str, Any, Any]]:
    """Availability that varies by country: most titles everywhere, some regional, some leaving."""
    long_ago = now - timedelta(days=400 + i)
    if i % 9 == 4:
        return [("US", long_ago, None), ("GB", long_ago, None)]
    if i % 9 == 7:
        return [("DE", long_ago, None), ("FR", long_ago, None), ("IN", long_ago, None)]
    if i % 13 == 5:
        return [("", long_ago, now + timedelta(days=10))]  # leaving soon
    if i % 17 == 8:
        return [("", now + timedelta(days=14), None)]  # coming soon: not visible yet
    return [("", long_ago, None)]


@transaction.atomic
def _seed_titles(specs: list[DemoTitle], rng: random.Random, now: Any) -> list[Title]:
    existing = {
        e.value: e.title for e in ExternalId.objects.filter(source=SOURCE).select_related("title")
    }
    genres = {}
    for name in GENRES:
        genres[name], _ = Genre.objects.get_or_create(name=name, defaults={"slug": slugify(name)})
    people = []
    for n in range(140):
        name = f"{FIRST[n % len(FIRST)]} {LAST[(n // len(FIRST) * 5 + n) % len(LAST)]}"
        person = Person.objects.filter(slug=slugify(name)).first()
        if person is None:
            person = Person.objects.create(
                name=name, slug=slugify(name), birth_year=1940 + (n * 13) % 60
            )
        people.append(person)
    people = list({p.pk: p for p in people}.values())
    titles = []
    for i, spec in enumerate(specs):
        if spec.key in existing:
            titles.append(existing[spec.key])
            continue
        slug = slugify(spec.name)
        if Title.objects.filter(slug=slug).exists():
            slug = f"{slug}-{i + 1}"
        title = Title.objects.create(
            name=spec.name,
            slug=slug,
            kind=spec.kind,
            synopsis=spec.synopsis,
            year=spec.year,
            runtime_minutes=spec.runtime,
            rating=spec.rating,
            original_language=rng.choice(["en", "en", "en", "fr", "de", "es", "ja", "ko"]),
            tags=rng.sample(
                [
                    "award-winner",
                    "based on a book",
                    "slow burn",
                    "feel-good",
                    "dark",
                    "witty",
                    "true story",
                    "cult classic",
                ],
                2,
            ),  # fmt: skip
            is_published=True,
            released_at=now - timedelta(days=(i * 37) % 700),
        )
        ExternalId.objects.create(title=title, source=SOURCE, value=spec.key)
        title.genres.set([genres[g] for g in spec.genres])
        cast = rng.sample(people, 6)
        for order, person in enumerate(cast[:5]):
            Credit.objects.create(
                title=title,
                person=person,
                role=Credit.Role.ACTOR,
                character=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                order=order,
            )
        Credit.objects.create(
            title=title,
            person=cast[5],
            role=Credit.Role.CREATOR if spec.kind == "series" else Credit.Role.DIRECTOR,
        )
        for country, starts, ends in _windows(i, now):
            Availability.objects.create(
                title=title, country=country, starts_at=starts, ends_at=ends
            )
        if spec.kind == Title.Kind.SERIES:
            for s in range(1, rng.randint(1, 3) + 1):
                season = Season.objects.create(title=title, number=s, name=f"Season {s}")
                for e in range(1, rng.randint(4, 8) + 1):
                    runtime = spec.runtime + rng.randint(-4, 4)
                    Episode.objects.create(
                        season=season,
                        number=e,
                        name=f"{rng.choice(ADJ)} {rng.choice(NOUN)}",
                        synopsis=f"Episode {e}: {HOOKS[spec.genres[0]]}.",
                        runtime_minutes=runtime,
                        intro_start=30,
                        intro_end=90,
                        credits_start=runtime * 60 - 60,
                        credits_end=runtime * 60,
                    )
        titles.append(title)
    return titles


def _seed_artwork(specs: list[DemoTitle], titles: list[Title], stdout: Any) -> int:
    have = set(Artwork.objects.filter(title__in=titles).values_list("title_id", "kind").distinct())
    made = 0
    for i, (spec, title) in enumerate(zip(specs, titles, strict=True)):
        for kind in ("poster", "backdrop"):
            if (title.pk, kind) not in have:
                artwork_store(title=title, kind=kind, image=render_art(spec, kind, seed=i))
                made += 1
        if stdout is not None and (i + 1) % 16 == 0:
            stdout.write(f"  artwork {i + 1}/{len(specs)}")
    return made


def demo_titles(specs: list[DemoTitle]) -> list[Title]:
    """The seeded titles in the order of `specs` (those the catalogue seeder has made)."""
    by_key = {
        e.value: e.title
        for e in ExternalId.objects.filter(source=SOURCE, value__in=[s.key for s in specs])
        .select_related("title")
        .order_by("pk")
    }
    return [by_key[s.key] for s in specs if s.key in by_key]


def seed(*, stdout: Any = None) -> None:
    """Seed the demo catalogue; safe to run again."""
    rng = random.Random(SEED)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    specs = plan_titles(rng)
    titles = _seed_titles(specs, rng, now)
    made = _seed_artwork(specs, titles, stdout)
    search_index_drain()
    if stdout is not None:
        stdout.write(
            f"Catalogue: {len(titles)} titles, {Genre.objects.count()} genres, "
            f"{made} artwork sets drawn."
        )
