"""Site-wide tasks."""

from celery import shared_task


# The one task whose result is stored (CELERY_TASK_IGNORE_RESULT): the caller waits for it.
@shared_task(name="streamsite.ping", ignore_result=False)
def ping() -> str:
    """Round trip through broker and worker; used by the production smoke test and operators."""
    return "pong"


@shared_task(name="streamsite.tasks.send_outbound_email")
def send_outbound_email(email_id: int) -> str:
    """Send one outbox email; a redelivered or swept message finds it claimed or sent."""
    from streamsite.outbox import email_deliver

    return email_deliver(email_id=email_id)


@shared_task(name="streamsite.tasks.sweep_outbound_email")
def sweep_outbound_email() -> int:
    """Beat entry (every minute): re-send what a lost message or a dead worker left."""
    from streamsite.outbox import email_sweep

    return email_sweep()
