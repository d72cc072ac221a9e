"""The demo seeder on the catalogue demo's planted taste groups: interactions, a live model that
clearly beats popularity, and personal rows for a demo profile."""

from __future__ import annotations

from io import StringIO

import pytest

from accounts.models import Profile
from catalog import demo as catalog_demo
from playback import demo as playback_demo
from playback.models import ViewingEvent
from recommendations import demo, rows
from recommendations.models import Interaction, ModelVersion


@pytest.fixture
def small_catalogue_demo(monkeypatch, settings, db):
    settings.RECS_ALLOWED_ITEMS_PROVIDER = "recommendations.rows.allowed_for_profile"
    monkeypatch.setattr(playback_demo.viewers, "N_ACCOUNTS", 30)
    monkeypatch.setattr(catalog_demo, "_seed_artwork", lambda specs, titles, stdout: 0)
    catalog_demo.seed()
    playback_demo.seed()


@pytest.mark.needs_ffmpeg  # the demo seeder encodes its clips
def test_demo_seed_folds_the_history_and_puts_a_model_live_that_beats_popularity(
    small_catalogue_demo,
):
    out = StringIO()
    demo.seed(stdout=out)

    watched = set(ViewingEvent.objects.values_list("profile_id", "title_id"))
    folded = set(Interaction.objects.values_list("profile_id", "title_id"))
    assert watched <= folded
    version = ModelVersion.objects.get()
    assert version.status == ModelVersion.Status.LIVE
    assert version.algorithm == "ease"
    ours = version.metrics["test"]["ndcg@10"]
    popularity = version.metrics["popularity"]["ndcg@10"]
    assert ours > 1.2 * popularity, (ours, popularity)  # a clear margin: guards a broken model
    assert out.getvalue().startswith(f"Recommendations: {len(folded)} interactions, model #")

    profile = Profile.objects.filter(external_id__endswith=":thrill-seekers").first()
    got = rows.rows_for_profile(profile)
    assert [r.key for r in got][0] == "top_picks"

    demo.seed()  # again: same interactions, the live model stays live
    assert set(Interaction.objects.values_list("profile_id", "title_id")) == folded
    assert ModelVersion.objects.live().count() == 1
