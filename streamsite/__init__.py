"""Streamsite: a Netflix-style streaming service as one Django monolith."""

from .celery import app as celery_app

__all__ = ("celery_app",)
