"""Catalog tasks, one module per area; imported here so Celery's autodiscovery finds them."""

from catalog.tasks import media, playback, search  # noqa: F401
