"""Catalog factories: titles visible everywhere by default, seasons, episodes, genres, people
(profiles come from tests.factories and are re-exported here)."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from catalog.models import Availability, Credit, Episode, Genre, Person, Season, Title
from tests.factories import ProfileFactory, UserFactory

__all__ = [
    "CreditFactory",
    "EpisodeFactory",
    "GenreFactory",
    "PersonFactory",
    "ProfileFactory",
    "SeasonFactory",
    "TitleFactory",
    "UserFactory",
]


class GenreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Genre

    name = factory.Sequence(lambda n: f"Genre {n}")
    slug = factory.Sequence(lambda n: f"genre-{n}")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"Person {n}")
    slug = factory.Sequence(lambda n: f"person-{n}")


class TitleFactory(factory.django.DjangoModelFactory):
    """A published movie rated G, available in every country since yesterday."""

    class Meta:
        model = Title
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Title {n}")
    slug = factory.Sequence(lambda n: f"title-{n}")
    kind = Title.Kind.MOVIE
    year = 2020
    rating = "G"
    is_published = True

    @factory.post_generation
    def countries(obj, create, extracted, **kwargs):  # noqa: N805
        """countries=["US"] limits availability; countries=[] makes it available nowhere."""
        if not create:
            return
        codes = [""] if extracted is None else extracted
        for code in codes:
            Availability.objects.create(
                title=obj, country=code, starts_at=timezone.now() - timedelta(days=1)
            )

    @factory.post_generation
    def genres(obj, create, extracted, **kwargs):  # noqa: N805
        if create and extracted:
            obj.genres.set(extracted)


class SeasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Season

    title = factory.SubFactory(TitleFactory, kind=Title.Kind.SERIES)
    number = factory.Sequence(lambda n: n + 1)


class EpisodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Episode

    season = factory.SubFactory(SeasonFactory)
    number = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"Episode {n}")


class CreditFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Credit

    title = factory.SubFactory(TitleFactory)
    person = factory.SubFactory(PersonFactory)
    role = Credit.Role.ACTOR
