"""Playback's variants of the catalog factories: titles rated for every profile (kids' too,
unless a test says otherwise) and series whose first season is number 1."""

import factory

from catalog.models import Title
from tests.catalog import factories as catalog
from tests.factories import ProfileFactory

__all__ = ["EpisodeFactory", "ProfileFactory", "SeasonFactory", "TitleFactory"]


class TitleFactory(catalog.TitleFactory):
    name = factory.Sequence(lambda n: f"Film {n}")
    slug = factory.Sequence(lambda n: f"film-{n}")
    rating = "TV-Y7"


class SeasonFactory(catalog.SeasonFactory):
    title = factory.SubFactory(TitleFactory, kind=Title.Kind.SERIES)
    number = 1


class EpisodeFactory(catalog.EpisodeFactory):
    season = factory.SubFactory(SeasonFactory)
