"""Template helpers: artwork URLs (from prefetched artwork, no extra queries) and title
cards rendered once per catalogue version."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import get_template
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from catalog.caching import shared_memo
from catalog.models import Title
from catalog.selectors.titles import artwork_url

register = template.Library()
CARD_TEMPLATE = "catalog/_card.html"


@register.simple_tag
def title_card(title: Title) -> SafeString:
    """`catalog/_card.html` for this title, rendered once per catalogue version and language
    in each process (catalog.caching.shared_memo): a card shows only catalogue data (name,
    slug, year, rating, poster), which every change to bumps the version. A home page shows
    around a hundred cards, and rendering each through the template engine was most of its
    rendering time."""

    def render() -> SafeString:
        return mark_safe(get_template(CARD_TEMPLATE).render({"t": title}))  # noqa: S308 - escaped by the template

    return shared_memo("card", (title.pk, translation.get_language()), render)


@register.simple_tag
def poster_url(title: Title, size: str = "md") -> str:
    return artwork_url(title, "poster", size)


@register.simple_tag
def backdrop_url(title: Title, size: str = "lg") -> str:
    return artwork_url(title, "backdrop", size)


@register.filter
def get_item(mapping: dict[Any, Any] | None, key: Any) -> Any:
    """`mapping|get_item:key` for dicts keyed by ids (recommendation explanations)."""
    return (mapping or {}).get(key)
