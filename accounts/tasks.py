"""Celery adapters for accounts."""

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone


@shared_task(name="accounts.tasks.clear_expired_sessions")
def clear_expired_sessions() -> int:
    """Delete expired sessions (idempotent: a second run finds nothing to delete)."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
