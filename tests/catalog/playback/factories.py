"""Factories for playback tests: profiles, titles and series with episodes."""

import factory

from accounts.models import Profile
from catalog.models import Episode, Season, Title


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Profile

    name = factory.Sequence(lambda n: f"Viewer {n}")


class TitleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Title

    name = factory.Sequence(lambda n: f"Film {n}")
    slug = factory.Sequence(lambda n: f"film-{n}")
    is_published = True


class SeasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Season

    title = factory.SubFactory(TitleFactory, kind=Title.Kind.SERIES)
    number = 1


class EpisodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Episode

    season = factory.SubFactory(SeasonFactory)
    number = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"Episode {n}")
