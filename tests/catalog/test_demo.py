"""The demo seeder: a real-looking catalogue, idempotent, with the planted taste structure.

One seeding (scaled down: fewer titles and accounts, smaller source artwork) checked for everything,
because drawing artwork is the slow part."""

from __future__ import annotations

import random
from io import StringIO

import pytest
from PIL import Image

from catalog import demo
from catalog.models import Artwork, Genre, Title
from catalog.selectors import available_titles


@pytest.fixture
def small_demo(settings, tmp_path, monkeypatch):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path), "base_url": "/media/"},
        },
    }
    monkeypatch.setattr(demo, "N_TITLES", 26)
    monkeypatch.setattr(demo, "POSTER_SIZE", (320, 480))
    monkeypatch.setattr(demo, "BACKDROP_SIZE", (480, 270))


def counts():
    return (
        Title.objects.count(),
        Genre.objects.count(),
        Artwork.objects.count(),
    )


@pytest.mark.django_db
def test_demo_seed(small_demo):
    demo.seed(stdout=StringIO())
    first = counts()
    assert first == (26, 13, 26 * 6)

    # idempotent
    demo.seed(stdout=StringIO())
    assert counts() == first
    specs = demo.plan_titles(random.Random(demo.SEED))
    seeded = Title.objects.filter(external_ids__source="demo").order_by("pk")
    assert [t.pk for t in demo.demo_titles(specs)] == list(seeded.values_list("pk", flat=True))

    # posters: distinct images of the stored size
    digests = set()
    for art in Artwork.objects.filter(kind="poster", size="md").order_by("title_id")[:4]:
        with art.image.open("rb") as fh:
            image = Image.open(fh)
            assert image.size == (320, 480)
            digests.add(image.tobytes())
    assert len(digests) == 4

    # availability varies by country
    us = set(available_titles(country="US", max_maturity=30).values_list("pk", flat=True))
    de = set(available_titles(country="DE", max_maturity=30).values_list("pk", flat=True))
    assert us != de
    assert us & de


def test_demo_title_names_use_proper_plurals():
    import random

    names = [spec.name for spec in demo.plan_titles(random.Random(20261126))]
    firsts = {n.split(" of ")[0] for n in names if " of " in n}
    assert firsts and not {f for f in firsts if f.endswith(("sss", "uss", "rss"))}
    assert demo._plural("Compass") == "Compasses"
    assert demo._plural("Circus") == "Circuses"
    assert demo._plural("Letters") == "Letters"
    assert demo._plural("Harbor") == "Harbors"
