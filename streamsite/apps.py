from django.apps import AppConfig, apps


class StreamsiteConfig(AppConfig):
    name = "streamsite"
    verbose_name = "Streamsite"

    def ready(self) -> None:
        from celery import signals
        from django.db.models.signals import post_save

        from streamsite import (
            checks,  # noqa: F401 - registers the system checks
            metrics,
        )
        from streamsite.api.fields import refuse_numbers_as_text

        refuse_numbers_as_text()
        signals.task_postrun.connect(metrics.count_task, dispatch_uid="streamsite.metrics.tasks")
        signals.worker_ready.connect(_serve_worker_metrics, dispatch_uid="streamsite.metrics.port")
        signals.worker_process_shutdown.connect(
            _child_dead, dispatch_uid="streamsite.metrics.child"
        )
        # Found by name: the playback models may move between apps without this changing.
        for model in apps.get_models():
            if model.__name__ == "PlaybackSession":
                post_save.connect(
                    metrics.count_playback_session,
                    sender=model,
                    dispatch_uid="streamsite.metrics.playback",
                )


def _serve_worker_metrics(**_: object) -> None:
    from streamsite import metrics

    port = metrics.metrics_port()
    if port is not None:
        metrics.serve(port)


def _child_dead(pid: int | None = None, **_: object) -> None:
    import os

    from streamsite import metrics

    metrics.process_dead(pid or os.getpid())
