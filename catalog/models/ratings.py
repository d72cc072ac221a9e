"""Maturity ratings: US film (MPA) and TV guidelines, mapped onto profile maturity levels."""

from __future__ import annotations

from django.db import models

from accounts.models import Maturity


class ContentRating(models.TextChoices):
    """A title's rating. Each maps to the lowest profile maturity allowed to see it."""

    TV_Y = "TV-Y", "TV-Y"
    TV_Y7 = "TV-Y7", "TV-Y7"
    G = "G", "G"
    TV_G = "TV-G", "TV-G"
    PG = "PG", "PG"
    TV_PG = "TV-PG", "TV-PG"
    PG_13 = "PG-13", "PG-13"
    TV_14 = "TV-14", "TV-14"
    R = "R", "R"
    TV_MA = "TV-MA", "TV-MA"
    NC_17 = "NC-17", "NC-17"
    NR = "NR", "Not rated"


# Ordered levels: a profile with maturity M sees titles whose level is <= M.
# Not-rated titles are treated as adult content.
RATING_LEVELS: dict[str, int] = {
    ContentRating.TV_Y: Maturity.KIDS,
    ContentRating.TV_Y7: Maturity.KIDS,
    ContentRating.G: Maturity.KIDS,
    ContentRating.TV_G: Maturity.KIDS,
    ContentRating.PG: Maturity.TEENS,
    ContentRating.TV_PG: Maturity.TEENS,
    ContentRating.PG_13: Maturity.TEENS,
    ContentRating.TV_14: Maturity.TEENS,
    ContentRating.R: Maturity.ADULTS,
    ContentRating.TV_MA: Maturity.ADULTS,
    ContentRating.NC_17: Maturity.ADULTS,
    ContentRating.NR: Maturity.ADULTS,
}


def rating_level(rating: str) -> int:
    return RATING_LEVELS.get(rating, Maturity.ADULTS)
