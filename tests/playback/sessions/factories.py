"""Factories for playback tests: profiles, titles and series with episodes."""

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import Profile
from catalog.models import Availability, Episode, Season, Title


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Profile

    name = factory.Sequence(lambda n: f"Viewer {n}")


class TitleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Title
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Film {n}")
    slug = factory.Sequence(lambda n: f"film-{n}")
    is_published = True
    rating = "TV-Y7"  # every profile may watch it, kids' too, unless a test says otherwise

    @factory.post_generation
    def countries(obj, create, extracted, **kwargs):  # noqa: N805
        """Available everywhere from yesterday; countries=["US"] limits it, [] makes it nowhere."""
        if not create:
            return
        for code in [""] if extracted is None else extracted:
            Availability.objects.create(
                title=obj, country=code, starts_at=timezone.now() - timedelta(days=1)
            )


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
