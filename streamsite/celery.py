"""The Celery application: configured from Django settings (CELERY_*), tasks autodiscovered."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamsite.settings.dev")

# DjangoTask adds delay_on_commit()/apply_async_on_commit(): the only way we enqueue from
# code that may run inside a transaction.
app = Celery("streamsite", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
