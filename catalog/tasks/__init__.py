"""Catalog tasks, one module per area; imported here so Celery's autodiscovery finds them."""

from catalog.tasks import search  # noqa: F401
