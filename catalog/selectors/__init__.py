"""Catalog reads. Every consumer asks `titles_for_profile` / `available_titles` what it may show."""

from catalog.selectors.search import SearchFilters, search_facets, search_titles
from catalog.selectors.titles import (
    artwork_url,
    available_titles,
    genre_rows,
    is_title_available,
    new_releases,
    popular,
    title_detail,
    titles_a_to_z,
    titles_for_profile,
    titles_for_viewer,
    titles_in_genre,
)
from catalog.selectors.viewer import (
    Viewer,
    viewer_anonymous,
    viewer_for_account,
    viewer_for_profile,
)

__all__ = [
    "SearchFilters",
    "Viewer",
    "artwork_url",
    "available_titles",
    "genre_rows",
    "is_title_available",
    "new_releases",
    "popular",
    "search_facets",
    "search_titles",
    "title_detail",
    "titles_a_to_z",
    "titles_for_profile",
    "titles_for_viewer",
    "titles_in_genre",
    "viewer_anonymous",
    "viewer_for_account",
    "viewer_for_profile",
]
