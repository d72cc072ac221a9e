"""The demo seeder: a real-looking catalogue, idempotent, with the planted taste structure.

One seeding (scaled down: fewer titles and accounts, smaller source artwork) checked for everything,
because drawing artwork is the slow part."""

from __future__ import annotations

from io import StringIO

import pytest
from PIL import Image

from accounts.models import Profile
from catalog import demo
from catalog.models import Artwork, Genre, Title, ViewingEvent
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
    monkeypatch.setattr(demo, "N_ACCOUNTS", 12)
    monkeypatch.setattr(demo, "POSTER_SIZE", (320, 480))
    monkeypatch.setattr(demo, "BACKDROP_SIZE", (480, 270))


def counts():
    return (
        Title.objects.count(),
        Genre.objects.count(),
        Artwork.objects.count(),
        Profile.objects.count(),
        ViewingEvent.objects.count(),
    )


@pytest.mark.django_db
def test_demo_seed(small_demo):
    demo.seed(stdout=StringIO())
    first = counts()
    assert first[:4] == (26, 13, 26 * 6, 12 * 3)

    # idempotent
    demo.seed(stdout=StringIO())
    assert counts() == first

    # demo viewers can sign in: accounts only lets verified addresses in
    from accounts.models import User

    viewers = User.objects.filter(email__endswith="@demo.streamsite.localhost")
    assert viewers.exists()
    assert not viewers.filter(email_verified_at__isnull=True).exists()

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

    # planted taste: each group watches its genres far more often than the catalogue offers them
    titles = {
        t.pk: {g.name for g in t.genres.all()} for t in Title.objects.prefetch_related("genres")
    }
    for group, genres in demo.TASTE_GROUPS.items():
        liked = set(genres)
        base = sum(1 for g in titles.values() if liked & g) / len(titles)
        events = ViewingEvent.objects.filter(profile__external_id__endswith=f":{group}")
        watched = [titles[e.title_id] for e in events]
        share = sum(1 for g in watched if liked & g) / len(watched)
        assert share >= base + 0.15, (group, share, base)


@pytest.mark.django_db
def test_the_demo_viewer_has_titles_to_continue(small_demo):
    from accounts import demo as accounts_demo
    from billing import demo as billing_demo
    from catalog.models import Progress
    from catalog.selectors import continue_watching

    billing_demo.seed(stdout=StringIO())
    accounts_demo.seed(stdout=StringIO())
    demo.seed(stdout=StringIO())
    alex = Profile.objects.get(account__email="viewer@streamsite.localhost", name="Alex")
    kids = Profile.objects.get(account__email="viewer@streamsite.localhost", name="Kids")
    rows = continue_watching(alex)
    assert len(rows) == 6  # six titles part-way through, most recent first
    assert all(0 < row.position_seconds < row.duration_seconds for row in rows)
    assert continue_watching(kids) == []
    before = Progress.objects.count()
    demo.seed(stdout=StringIO())
    assert Progress.objects.count() == before


def test_demo_title_names_use_proper_plurals():
    import random

    names = [spec.name for spec in demo.plan_titles(random.Random(20261126))]
    firsts = {n.split(" of ")[0] for n in names if " of " in n}
    assert firsts and not {f for f in firsts if f.endswith(("sss", "uss", "rss"))}
    assert demo._plural("Compass") == "Compasses"
    assert demo._plural("Circus") == "Circuses"
    assert demo._plural("Letters") == "Letters"
    assert demo._plural("Harbor") == "Harbors"
