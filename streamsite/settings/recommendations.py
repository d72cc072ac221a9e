"""Recommendations: the nightly model, its promotion gate, retraining, what a profile may see."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .project import env


def _recs_fraction(name: str, default: str) -> float:
    raw = env.str(name, default)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise ImproperlyConfigured(f"{name} must be a number from 0 to 1, got {raw!r}")
    return value


# A new model goes live only if its holdout NDCG@10 beats the live one's by this fraction.
RECS_PROMOTION_MARGIN = _recs_fraction("RECS_PROMOTION_MARGIN", "0.01")
# The algorithm the nightly training fits (hyper-parameters chosen by validation). A two-stage
# model must also beat its own EASE stage, which otherwise goes through the gate itself.
RECS_ALGORITHM = env.choice(
    "RECS_ALGORITHM", ("ease", "itemknn", "als", "popularity", "twostage"), "twostage"
)
# Evaluation holds out each profile's most recent N interactions.
RECS_HOLDOUT = env.int("RECS_HOLDOUT", 3, min=1, max=100)
# Retrain between nightly runs once this many interactions changed since the last training
# started (0: nightly only), but not sooner than RECS_RETRAIN_MIN_MINUTES after it.
RECS_RETRAIN_AFTER = env.int("RECS_RETRAIN_AFTER", 5000, min=0)
RECS_RETRAIN_MIN_MINUTES = env.int("RECS_RETRAIN_MIN_MINUTES", 30, min=1)
# A retrain of the live model's algorithm reuses the live model's validated hyper-parameters
# (no search) until its full search is this many days old (0: search on every training).
RECS_FULL_SEARCH_DAYS = env.int("RECS_FULL_SEARCH_DAYS", 7, min=0)
# Dotted path to fn(profile) -> set of title ids the profile may be shown, or None for all
# published titles. Default: the catalogue's availability + maturity selector.
RECS_ALLOWED_ITEMS_PROVIDER = env.str(
    "RECS_ALLOWED_ITEMS_PROVIDER", "recommendations.rows.allowed_for_profile"
)
