"""A profile's picks from the live model: fold-in, explanations, seen and allowed titles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recommendations import selectors, services
from recommendations.models import Interaction
from recommendations.services import InteractionRow, interactions_upsert
from tests.recommendations.factories import ProfileFactory, TitleFactory

ONLY: set[int] = set()


def only_allowed(profile):
    return set(ONLY)


def no_opinion(profile):
    return None


def test_no_live_model_means_no_picks(planted):
    profile = planted[0][0]
    assert selectors.recommend_for_profile(profile=profile) == []
    assert selectors.because_you_watched(profile=profile) is None


@pytest.mark.parametrize("algorithm", ["ease", "itemknn", "als", "popularity"])
def test_picks_never_include_seen_or_unpublished_titles(planted, algorithm):
    profiles, titles, _ = planted
    params = {"factors": 8, "iterations": 5} if algorithm == "als" else {}
    services.promote(version=services.train(algorithm=algorithm, params=params))
    hidden = titles[0]
    hidden.is_published = False
    hidden.save(update_fields=["is_published"])
    for profile in profiles[:10]:
        seen = set(Interaction.objects.filter(profile=profile).values_list("title_id", flat=True))
        picks = selectors.recommend_for_profile(profile=profile, k=10)
        got = [p.title_id for p in picks]
        assert len(got) == min(10, 29 - len(seen - {hidden.pk}))
        assert not set(got) & seen
        assert hidden.pk not in got
        for p in picks:
            assert set(p.because_title_ids) <= seen


def test_allowed_items_provider_limits_candidates(planted, settings):
    profiles, titles, _ = planted
    services.promote(version=services.train(algorithm="ease", params={}))
    settings.RECS_ALLOWED_ITEMS_PROVIDER = "tests.recommendations.test_serving.only_allowed"
    profile = profiles[0]
    seen = set(Interaction.objects.filter(profile=profile).values_list("title_id", flat=True))
    unseen = [t.pk for t in titles if t.pk not in seen]
    ONLY.clear()
    ONLY.update(unseen[:3])
    picks = selectors.recommend_for_profile(profile=profile, k=10)
    assert sorted(p.title_id for p in picks) == sorted(unseen[:3])
    # a provider answering None means "no opinion": every published title
    settings.RECS_ALLOWED_ITEMS_PROVIDER = "tests.recommendations.test_serving.no_opinion"
    assert len(selectors.recommend_for_profile(profile=profile, k=10)) == 10


def test_one_new_interaction_changes_because_you_watched_without_a_retrain(planted):
    profiles, titles, synth = planted
    services.train(algorithm="ease", params={"lambda_": 10.0})
    profile = profiles[0]
    before = selectors.because_you_watched(profile=profile, k=5)
    assert before is not None
    seen = set(Interaction.objects.filter(profile=profile).values_list("title_id", flat=True))
    # finish a title from another taste cluster, just now
    cluster = synth.user_cluster[0]
    other = next(
        t
        for j, t in enumerate(titles)
        if synth.item_cluster[j] != cluster and t.pk not in seen and t.pk != before.source_title_id
    )
    newest = Interaction.objects.filter(profile=profile).order_by("-last_at").first()
    interactions_upsert(
        rows=[
            InteractionRow(
                profile_id=profile.pk,
                title_id=other.pk,
                weight=2.0,
                last_at=newest.last_at + timedelta(minutes=1),
                completions=1,
            )
        ]
    )
    after = selectors.because_you_watched(profile=profile, k=5)
    assert after is not None
    assert before.source_title_id != other.pk
    assert after.source_title_id == other.pk
    assert after.title_ids != before.title_ids
    assert other.pk not in after.title_ids
    assert other.pk not in [p.title_id for p in selectors.recommend_for_profile(profile=profile)]


def test_explanations_name_watched_titles_that_drive_each_pick(db):
    # two tastes: A-titles watched together, B-titles watched together
    a = TitleFactory.create_batch(3)
    b = TitleFactory.create_batch(3)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(6):
        for group in (a, b):
            p = ProfileFactory()
            for k, t in enumerate(group):
                rows.append(
                    InteractionRow(
                        profile_id=p.pk,
                        title_id=t.pk,
                        weight=1.0,
                        last_at=at + timedelta(hours=n * 10 + k),
                    )
                )
    interactions_upsert(rows=rows)
    services.promote(version=services.train(algorithm="itemknn", params={}, holdout=1))
    viewer = ProfileFactory()
    interactions_upsert(
        rows=[
            InteractionRow(profile_id=viewer.pk, title_id=a[0].pk, weight=1.0, last_at=at),
            InteractionRow(profile_id=viewer.pk, title_id=b[0].pk, weight=1.0, last_at=at),
        ]
    )
    picks = selectors.recommend_for_profile(profile=viewer, k=4)
    because = {p.title_id: p.because_title_ids for p in picks}
    assert because == {
        a[1].pk: [a[0].pk],
        a[2].pk: [a[0].pk],
        b[1].pk: [b[0].pk],
        b[2].pk: [b[0].pk],
    }


def test_a_brand_new_profile_gets_popular_titles_only_from_popularity(planted):
    services.promote(version=services.train(algorithm="popularity", params={}))
    newcomer = ProfileFactory()
    picks = selectors.recommend_for_profile(profile=newcomer, k=5)
    assert len(picks) == 5
    assert [p.because_title_ids for p in picks] == [[], [], [], [], []]


@pytest.mark.parametrize("algorithm", ["ease", "itemknn"])
def test_picks_respect_any_allowed_set_for_any_profile(planted, settings, algorithm):
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hsettings
    from hypothesis import strategies as st

    profiles, titles, _ = planted
    services.train(algorithm=algorithm, params={})
    settings.RECS_ALLOWED_ITEMS_PROVIDER = "tests.recommendations.test_serving.only_allowed"
    title_ids = [t.pk for t in titles]
    seen_of = {
        p.pk: set(Interaction.objects.filter(profile=p).values_list("title_id", flat=True))
        for p in profiles
    }

    @hsettings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        index=st.integers(0, len(profiles) - 1),
        allowed=st.sets(st.sampled_from(title_ids)),
        k=st.integers(1, 12),
    )
    def check(index, allowed, k):
        ONLY.clear()
        ONLY.update(allowed)
        profile = profiles[index]
        got = [p.title_id for p in selectors.recommend_for_profile(profile=profile, k=k)]
        permitted = allowed - seen_of[profile.pk]
        assert set(got) <= permitted
        assert len(got) == len(set(got)) == min(k, len(permitted))

    check()
