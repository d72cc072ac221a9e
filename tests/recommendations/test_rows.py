"""Home rows: kinds, labels, filters, de-duplication, diversity, cold start, fold-in, cache."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from catalog.models import Availability
from playback.models import Progress, ThumbRating, ViewingEvent
from recommendations import activity, rows, selectors, services
from recommendations.models import Interaction
from recommendations.tasks import fold_activity, precompute_rows
from tests.recommendations.factories import ProfileFactory


def _keys(got):
    return [r.key for r in got]


def test_a_profile_with_history_gets_four_kinds_of_rows_with_exact_labels(live):
    profiles, _titles, _ = live
    profile = profiles[0]
    newest = Interaction.objects.filter(profile=profile).order_by("-last_at", "-id").first()

    got = rows.compute_rows(profile)

    assert [r.label for r in got][:2] == [
        f"Top picks for {profile.name}",
        f"Because you watched {newest.title.name}",
    ]
    assert _keys(got)[:2] == ["top_picks", f"because_{newest.title_id}"]
    # planted interactions are a year old: nothing trends; every title is new (made today)
    assert "trending" not in _keys(got)


def test_no_title_appears_in_two_rows_and_seen_titles_never_appear(live):
    profiles, _titles, _ = live
    for profile in profiles[:8]:
        seen = set(Interaction.objects.filter(profile=profile).values_list("title_id", flat=True))
        got = rows.compute_rows(profile)
        shown = [t for r in got for t in r.title_ids]
        assert len(shown) == len(set(shown))
        assert not set(shown) & seen
        for r in got:
            assert sorted(r.explanation) == sorted(r.title_ids)


def test_a_finished_title_is_never_recommended_even_before_the_fold(live):
    profiles, _titles, _ = live
    profile = profiles[1]
    first = rows.compute_rows(profile)[0].title_ids[0]
    Progress.objects.create(
        profile=profile,
        title_id=first,
        position_seconds=600,
        duration_seconds=600,
        completed=True,
        last_event_at=timezone.now(),
    )
    shown = {t for r in rows.compute_rows(profile) for t in r.title_ids}
    assert first not in shown
    assert first not in rows.top_picks(profile, k=10)


def test_a_thumbs_down_title_is_never_recommended(live):
    profiles, _titles, _ = live
    profile = profiles[2]
    first = rows.compute_rows(profile)[0].title_ids[0]
    ThumbRating.objects.create(profile=profile, title_id=first, value=-1)
    assert first not in {t for r in rows.compute_rows(profile) for t in r.title_ids}


def test_a_title_not_available_in_the_profiles_country_is_never_shown(live):
    profiles, titles, _ = live
    profile = profiles[3]
    first = rows.compute_rows(profile)[0].title_ids[0]
    Availability.objects.filter(title_id=first).update(country="ZZ")
    assert first not in {t for r in rows.compute_rows(profile) for t in r.title_ids}


def test_diversity_keeps_at_most_four_of_a_genre_until_others_run_out():
    order = [1, 2, 3, 4, 5, 6, 7, 8]
    genre = {1: 10, 2: 10, 3: 10, 4: 10, 5: 10, 6: 20, 7: 10, 8: 30}
    assert rows.diversify(order, genre, size=6) == [1, 2, 3, 4, 6, 8]
    assert rows.diversify(order, genre, size=8) == [1, 2, 3, 4, 6, 8, 5, 7]


def test_trending_counts_viewers_in_the_profiles_country_in_the_last_30_days(live):
    profiles, titles, _ = live
    us = [p for p in profiles if p.account.country == "US"]
    fr = [p for p in profiles if p.account.country == "FR"]
    target, other = titles[-1], titles[-2]
    now = timezone.now()
    for p in us[1:4]:
        Interaction.objects.update_or_create(
            profile=p, title=target, defaults={"weight": 1.0, "last_at": now}
        )
    for p in fr[:5]:
        Interaction.objects.update_or_create(
            profile=p, title=other, defaults={"weight": 1.0, "last_at": now}
        )
    Interaction.objects.filter(profile=us[4], title=other).update(last_at=now - timedelta(days=31))
    everything = {t.pk for t in titles}

    assert rows._trending("US", everything, now) == [(target.pk, 3)]
    assert rows._trending("FR", everything, now) == [(other.pk, 5)]
    assert rows._trending("US", everything - {target.pk}, now) == []

    viewer = ProfileFactory(account=us[0].account)
    got = {r.key: r for r in rows.compute_rows(viewer)}
    assert got["trending"].label == "Trending now in US"
    assert got["trending"].title_ids == [target.pk]
    assert got["trending"].explanation == {
        target.pk: "Watched by 3 viewers in US in the last 30 days"
    }


def test_a_new_profile_gets_no_personal_rows_until_it_picks_three_titles(live):
    profiles, titles, synth = live
    newcomer = ProfileFactory(account=profiles[0].account)
    assert [k for k in _keys(rows.compute_rows(newcomer)) if k == "top_picks"] == []

    liked = [titles[j].pk for j in range(len(titles)) if synth.item_cluster[j] == 0][:3]
    assert activity.onboarding_complete(profile=newcomer, title_ids=liked) == sorted(liked)

    got = rows.rows_for_profile(newcomer)
    assert _keys(got)[0] == "top_picks"
    top = got[0]
    assert not set(top.title_ids) & set(liked)
    names = {t.pk: t.name for t in titles}
    for tid in top.title_ids:
        why = top.explanation[tid]
        assert why.startswith("Because you liked ")
        assert any(names[i] in why for i in liked)
    assert got[1].key.startswith("because_")
    assert int(got[1].key.removeprefix("because_")) in liked


def test_explanations_name_exactly_the_history_titles_the_model_credits(live):
    profiles, titles, _ = live
    profile = profiles[4]
    loaded = selectors.live_model()
    hist, _ = selectors._history(loaded, profile)
    names = {t.pk: t.name for t in titles}
    for pick in selectors.recommend_for_profile(profile=profile, k=5):
        found = rows.explain_for_profile(profile=profile, title_id=pick.title_id)
        expected = [
            int(loaded.title_ids[j])
            for j in loaded.model.explain(hist, loaded.index_of[pick.title_id])
        ][:3]
        assert found.because_title_ids == expected
        assert found.text == "Because you watched " + ", ".join(names[b] for b in expected)


def test_a_freshly_finished_title_leads_because_you_watched_after_one_fold(
    live, django_capture_on_commit_callbacks
):
    profiles, titles, _ = live
    profile = profiles[5]
    seen = set(Interaction.objects.filter(profile=profile).values_list("title_id", flat=True))
    before = rows.rows_for_profile(profile)
    fresh = next(t for t in titles if t.pk not in seen)
    assert f"because_{fresh.pk}" not in _keys(before)

    ViewingEvent.objects.create(
        profile=profile, title=fresh, event_type="complete", occurred_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True):
        fold_activity()  # the beat, every minute; after commit it drops this profile's rows

    after = rows.rows_for_profile(profile)
    assert _keys(after)[1] == f"because_{fresh.pk}"
    assert after[1].label == f"Because you watched {fresh.name}"
    assert fresh.pk not in {t for r in after for t in r.title_ids}


def test_cached_rows_are_served_with_no_query_and_a_new_model_recomputes_them(
    live, django_assert_num_queries
):
    profiles, _titles, _ = live
    profile = profiles[6]
    first = rows.rows_for_profile(profile)
    with django_assert_num_queries(0):  # the entry and the live version from the cache
        assert rows.rows_for_profile(profile) == first
    services.promote(
        version=services.train(algorithm="itemknn", params={"neighbours": 5, "shrink": 0.0})
    )
    assert rows.cached_rows(profile.pk, selectors.live_model().version_id) is None


def test_precompute_walks_every_profile_in_bounded_batches(live, settings):
    profiles, _titles, _ = live
    version_id = selectors.live_model().version_id
    assert precompute_rows(0) is None  # eager: each batch queued the next one
    assert all(rows.cached_rows(p.pk, version_id) is not None for p in profiles)
    assert rows.rows_precompute(after_id=0, limit=5) == sorted(p.pk for p in profiles)[4]


def test_a_kids_profile_never_sees_titles_above_its_maturity(live):
    from accounts.models import Maturity

    profiles, titles, _ = live
    kid = ProfileFactory(account=profiles[0].account, maturity=Maturity.KIDS, is_kids=True)
    mature = titles[:10]
    for t in titles:
        t.rating = "R" if t in mature else "G"
        t.save(update_fields=["rating"])
    activity.onboarding_complete(profile=kid, title_ids=[t.pk for t in titles[10:13]])
    shown = {t for r in rows.compute_rows(kid) for t in r.title_ids}
    assert shown
    assert not shown & {t.pk for t in mature}
    assert not set(rows.more_like_this(profile=kid, title_id=titles[10].pk)) & {
        t.pk for t in mature
    }


def test_rows_without_any_model_still_show_trending_and_new(catalogue):
    profiles, _titles, _ = catalogue
    got = rows.compute_rows(profiles[0])
    assert _keys(got) == ["new_for_you"]
    assert len(got[0].title_ids) == rows.ROW_SIZE
    # no model: new titles are ordered by how their content matches the history
    history = list(
        Interaction.objects.filter(profile=profiles[0]).values_list("title_id", flat=True)
    )
    affinity = selectors.content_affinity(history_title_ids=history, title_ids=got[0].title_ids)
    first = got[0].title_ids[0]
    assert affinity[first] == max(affinity.values())
    assert affinity[first] > 0
    assert got[0].explanation[first] == "New, and like what you watch"
    # a profile with no history at all: plain "new"
    fresh = rows.compute_rows(ProfileFactory(account=profiles[0].account))
    assert {fresh[0].explanation[t] for t in fresh[0].title_ids} == {"New on Streamsite"}


def test_new_for_you_only_holds_titles_released_in_the_last_120_days(catalogue):
    profiles, titles, _ = catalogue
    old = titles[0]
    old.released_at = timezone.now() - timedelta(days=121)
    old.save(update_fields=["released_at"])
    got = rows.compute_rows(ProfileFactory(account=profiles[0].account))
    assert old.pk not in got[0].title_ids


def test_rows_are_labelled_in_the_profile_s_language_and_relabelled_when_it_changes(live):
    from accounts.models import Profile

    profiles, _titles, _ = live
    profile = profiles[0]
    newest = Interaction.objects.filter(profile=profile).order_by("-last_at", "-id").first()
    Profile.objects.filter(pk=profile.pk).update(language="de")
    profile.refresh_from_db()

    german = rows.rows_for_profile(profile)

    assert [r.label for r in german][:2] == [
        f"Top-Empfehlungen für {profile.name}",
        f"Weil Sie {newest.title.name} angesehen haben",
    ]
    assert all(why.startswith("Weil Ihnen ") for why in german[0].explanation.values())
    Profile.objects.filter(pk=profile.pk).update(language="es")
    profile.refresh_from_db()
    assert rows.cached_rows(profile.pk, rows.live_version_id(), "es") is None  # German ones
    spanish = rows.rows_for_profile(profile)
    assert spanish[0].label == f"Recomendaciones para {profile.name}"
    assert rows.cached_rows(profile.pk, rows.live_version_id(), "es")[0].label == spanish[0].label


def test_an_unoffered_profile_language_labels_rows_in_the_account_s(live):
    from accounts.models import Profile, User

    profiles, _titles, _ = live
    profile = profiles[0]
    Profile.objects.filter(pk=profile.pk).update(language="fr")
    User.objects.filter(pk=profile.account_id).update(language="es")
    profile = Profile.objects.select_related("account").get(pk=profile.pk)
    assert rows.row_language(profile) == "es"
    assert rows.compute_rows(profile)[0].label == f"Recomendaciones para {profile.name}"
