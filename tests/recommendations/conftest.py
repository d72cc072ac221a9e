"""Recommendations fixtures: artifacts stored in a temporary directory, a fresh model cache."""

import pytest

from recommendations import selectors
from tests.recommendations.factories import planted_table


@pytest.fixture(autouse=True)
def _tmp_storage(settings, tmp_path):
    # Core tests build titles without availability windows: no catalogue filter unless a test
    # sets one (tests/recommendations/test_rows.py does).
    settings.RECS_ALLOWED_ITEMS_PROVIDER = None
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/media/"},
        },
    }
    selectors._loaded.clear()
    yield
    selectors._loaded.clear()


@pytest.fixture
def planted(db):
    return planted_table()


@pytest.fixture
def catalogue(planted, settings):
    """The planted table with a real catalogue around it: every title available everywhere,
    rated G, in one of three genres (its taste cluster); the catalogue's filter switched on."""
    from datetime import timedelta

    from django.utils import timezone

    from catalog.models import Availability
    from tests.catalog.factories import GenreFactory

    settings.RECS_ALLOWED_ITEMS_PROVIDER = "recommendations.rows.allowed_for_profile"
    profiles, titles, synth = planted
    genres = GenreFactory.create_batch(3)
    yesterday = timezone.now() - timedelta(days=1)
    Availability.objects.bulk_create(
        [Availability(title=t, country="", starts_at=yesterday) for t in titles]
    )
    for j, t in enumerate(titles):
        t.genres.set([genres[int(synth.item_cluster[j]) % 3]])
    return profiles, titles, synth


@pytest.fixture
def live(catalogue):
    """The catalogue with a live EASE model trained on the planted table."""
    from recommendations import services

    version = services.train(algorithm="ease", params={"lambda_": 10.0})
    if version.status != "live":
        services.promote(version=version)
    return catalogue
