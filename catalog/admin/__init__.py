"""Catalog admin, one module per area."""

from catalog.admin import (
    media,  # noqa: F401
    titles,  # noqa: F401
)
