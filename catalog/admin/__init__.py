"""Catalog admin, one module per area."""

from catalog.admin import titles  # noqa: F401
