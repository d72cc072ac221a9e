"""Catalog models, one module per area; re-exported here so Django finds them."""

from catalog.models.artwork import Artwork
from catalog.models.availability import Availability
from catalog.models.genres import Genre
from catalog.models.people import Credit, Person
from catalog.models.ratings import RATING_LEVELS, ContentRating, rating_level
from catalog.models.titles import Episode, ExternalId, Season, Title

__all__ = [
    "RATING_LEVELS",
    "Artwork",
    "Availability",
    "ContentRating",
    "Credit",
    "Episode",
    "ExternalId",
    "Genre",
    "Person",
    "Season",
    "Title",
    "rating_level",
]
