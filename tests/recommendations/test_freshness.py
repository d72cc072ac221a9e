"""A title released today reaches a matching profile's rows before the next retrain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Availability, Title
from recommendations import rows, selectors
from recommendations.models import Interaction, ModelVersion
from tests.recommendations.factories import TitleFactory


def test_a_title_released_today_leads_a_matching_profiles_new_row_without_a_retrain(live):
    profiles, titles, synth = live
    now = timezone.now()
    Title.objects.filter(pk__in=[t.pk for t in titles]).update(
        released_at=now - timedelta(days=365)
    )
    genre_of = {int(synth.item_cluster[j]) % 3: titles[j].genres.get() for j in range(len(titles))}
    live_version = ModelVersion.objects.live().get()
    new = {}
    for cluster in (0, 1):
        title = TitleFactory(released_at=now)
        title.genres.set([genre_of[cluster]])
        Availability.objects.create(title=title, country="", starts_at=now - timedelta(hours=1))
        new[cluster] = title.pk
    loaded = selectors.live_model()
    assert loaded is not None
    assert not set(new.values()) & set(loaded.index_of)  # the model has never seen them

    # a fan of genre c: the profile whose history holds the most more titles of c than of
    # the other genre
    cluster_of_title = {t.pk: int(synth.item_cluster[j]) % 3 for j, t in enumerate(titles)}

    def lead(profile, c: int) -> int:
        ids = Interaction.objects.filter(profile=profile).values_list("title_id", flat=True)
        counts = [sum(1 for t in ids if cluster_of_title[t] == k) for k in (0, 1)]
        return counts[c] - counts[1 - c]

    fan_of = {c: max(profiles, key=lambda p, c=c: (lead(p, c), -p.pk)) for c in (0, 1)}
    assert lead(fan_of[0], 0) > 0
    assert lead(fan_of[1], 1) > 0
    got0 = {r.key: r for r in rows.compute_rows(fan_of[0])}
    got1 = {r.key: r for r in rows.compute_rows(fan_of[1])}

    assert got0["new_for_you"].title_ids == [new[0], new[1]]
    assert got1["new_for_you"].title_ids == [new[1], new[0]]
    assert got0["new_for_you"].explanation[new[0]] == "New, and like what you watch"
    # no retrain happened: the same live version, no other version
    assert list(ModelVersion.objects.values_list("pk", flat=True)) == [live_version.pk]


def test_content_affinity_by_hand(db):
    from catalog.models import Credit, Person
    from tests.catalog.factories import GenreFactory

    drama, comedy = GenreFactory.create_batch(2)
    actor = Person.objects.create(name="A. Actor", slug="a-actor")
    seen = TitleFactory.create_batch(2, year=1994)
    for t in seen:
        t.genres.set([drama])
        Credit.objects.create(title=t, person=actor)
    same = TitleFactory(year=1995)
    same.genres.set([drama])
    other = TitleFactory(year=2021)
    other.genres.set([comedy])
    got = selectors.content_affinity(
        history_title_ids=[t.pk for t in seen], title_ids=[same.pk, other.pk]
    )
    # history tokens: genre x2, person x2, maturity x2, decade 199x x2 -> |h| = 4
    # `same`: genre, maturity, decade (3 tokens, dot 6) -> 6 / (4 * sqrt 3)
    assert got[same.pk] == pytest.approx(6 / (4 * 3**0.5), rel=1e-12)
    # `other`: only the maturity level is shared: 2 / (4 * sqrt 3)
    assert got[other.pk] == pytest.approx(2 / (4 * 3**0.5), rel=1e-12)
