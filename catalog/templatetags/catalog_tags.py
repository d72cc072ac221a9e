"""Template helpers for artwork URLs (from prefetched artwork, no extra queries)."""

from __future__ import annotations

from typing import Any

from django import template

from catalog.models import Title
from catalog.selectors.titles import artwork_url

register = template.Library()


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
