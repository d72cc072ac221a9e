"""Catalog admin, one module per area."""

from catalog.admin import activity, titles  # noqa: F401
