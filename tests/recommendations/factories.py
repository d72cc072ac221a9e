"""Factories for recommendations tests: profiles, titles and a planted Interaction table."""

from __future__ import annotations

from datetime import UTC, datetime

import factory

from recommendations.services import InteractionRow, interactions_upsert
from recommendations.synthetic import generate
from tests.catalog import factories as catalog
from tests.factories import ProfileFactory, UserFactory

__all__ = ["ProfileFactory", "TitleFactory", "UserFactory", "planted_table"]


class TitleFactory(catalog.TitleFactory):
    """A published title, not rated and with no availability rows: the recommenders' tests
    say what is available where."""

    year = None
    rating = "NR"

    @factory.post_generation
    def countries(obj, create, extracted, **kwargs):  # noqa: N805
        """No availability rows."""


def planted_table(
    *, n_profiles: int = 40, n_titles: int = 30, n_interactions: int = 700, seed: int = 5
):
    """Profiles, titles and Interaction rows generated with a planted taste structure."""
    synth = generate(
        n_users=n_profiles,
        n_items=n_titles,
        n_interactions=n_interactions,
        n_clusters=3,
        n_countries=2,
        seed=seed,
    )
    countries = ["US", "FR"]
    profiles = [
        ProfileFactory(account=UserFactory(country=countries[int(g)])) for g in synth.data.groups
    ]
    titles = TitleFactory.create_batch(n_titles)
    u, i, w, t = synth.data.triples()
    interactions_upsert(
        rows=(
            InteractionRow(
                profile_id=profiles[int(a)].pk,
                title_id=titles[int(b)].pk,
                weight=float(c),
                last_at=datetime.fromtimestamp(float(d), tz=UTC),
                plays=1,
            )
            for a, b, c, d in zip(u, i, w, t, strict=True)
        )
    )
    return profiles, titles, synth


__all__ = ["ProfileFactory", "TitleFactory", "planted_table"]
