"""At-least-once task kinds the chaos scenarios drive through real workers. Each enqueues N
units the way the site does, counts their effects, and names the sweep beat would run.

A new kind (a transcode, a renewal) is a class with the same four methods."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from django.db import transaction
from django.utils import timezone

TO = re.compile(r"^To: (\S+)$", re.MULTILINE)


class EmailKind:
    """Outbox emails (accounts' messages go this way); the effect is a message the mail backend
    wrote, one file each, so a message sent twice is counted twice."""

    name = "email"
    sweep = "streamsite.tasks.sweep_outbound_email"

    def __init__(self, run_id: str, n: int, mail_dir: Path):
        self.run_id, self.n, self.mail_dir = run_id, n, mail_dir

    def enqueue(self) -> None:
        from streamsite.outbox import email_enqueue

        for start in range(0, self.n, 100):
            with transaction.atomic():
                for i in range(start, min(start + 100, self.n)):
                    email_enqueue(
                        to=f"{self.run_id}-{i}@chaos.invalid",
                        subject=f"chaos {self.run_id} {i}",
                        body="A message from the chaos suite.",
                    )

    def effects(self) -> Counter[str]:
        seen: Counter[str] = Counter()
        prefix = f"{self.run_id}-"
        for path in self.mail_dir.glob("*.log"):
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            seen.update(to for to in TO.findall(text) if to.startswith(prefix))
        return seen

    def progress(self) -> int:
        return sum(1 for _ in self.mail_dir.glob("*.log"))


class WebhookKind:
    """Stored gateway events processed by billing's task (row lock + status: once); the effect
    is the event's row leaving "pending"."""

    name = "webhook"
    sweep = "billing.tasks.retry_deferred_webhooks"

    def __init__(self, run_id: str, n: int):
        self.run_id, self.n = run_id, n

    def enqueue(self) -> None:
        from billing.models import WebhookEvent
        from billing.tasks import process_webhook_event

        now = timezone.now()
        for start in range(0, self.n, 100):
            with transaction.atomic():
                rows = WebhookEvent.objects.bulk_create(
                    WebhookEvent(
                        gateway="sandbox",
                        event_id=f"{self.run_id}-{i}",
                        type="chaos.noop",
                        payload={"data": {}},
                        event_created=now,
                        received_at=now,
                    )
                    for i in range(start, min(start + 100, self.n))
                )
                for row in rows:
                    process_webhook_event.delay_on_commit(row.pk)  # type: ignore[attr-defined]

    def effects(self) -> Counter[str]:
        from billing.models import WebhookEvent

        done = WebhookEvent.objects.filter(event_id__startswith=f"{self.run_id}-").exclude(
            status=WebhookEvent.Status.PENDING
        )
        return Counter(done.values_list("event_id", flat=True))

    def progress(self) -> int:
        return sum(self.effects().values())
