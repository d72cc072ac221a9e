"""Site-wide tasks."""

from celery import shared_task


@shared_task(name="streamsite.ping")
def ping() -> str:
    """Round trip through broker and worker; used by the production smoke test and operators."""
    return "pong"
