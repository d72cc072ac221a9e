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
