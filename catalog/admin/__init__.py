"""Catalog admin, one module per area."""

from catalog.admin import activity, media, titles  # noqa: F401
