"""Background work: every periodic task and when it runs, and which queue each task goes to.

The queues and their time limits are the project's (`project`, docs/architecture.md): `default`
for quick work, `batch` for periodic batches that page through rows, `long` for training,
`transcode` for encodes. A task not named below goes to `default`. Each app's doc describes what
its tasks do; docs/operations.md lists the schedule.
"""

from __future__ import annotations

from celery.schedules import crontab

# Exact names first, then the patterns in this order (Celery's map routes).
CELERY_TASK_ROUTES: dict[str, dict[str, str]] = {
    "media.tasks.transcode_*": {"queue": "transcode"},
    "media.tasks.media_*": {"queue": "transcode"},
    "media.tasks.media_transcode": {"queue": "transcode"},
    "media.tasks.media_delete_prefix": {"queue": "default"},
    "media.tasks.media_sweep_stale": {"queue": "default"},
    "media.tasks.media_sweep_orphans": {"queue": "default"},
    "recommendations.tasks.train_model": {"queue": "long"},
}
for _batch_task in (
    "accounts.tasks.clear_expired_sessions",
    "billing.tasks.run_renewals",
    "billing.tasks.run_dunning",
    "billing.tasks.retry_deferred_webhooks",
    "billing.tasks.purge_idempotency_keys",
    "playback.tasks.refresh_popularity",
    "playback.tasks.prune_qoe_minutes",
    "recommendations.tasks.fold_activity",
    "recommendations.tasks.precompute_rows",
    "recommendations.tasks.sweep_trainings",
    "cdn.tasks.warm_sites",
    "cdn.tasks.warm_edge_content",
    "cdn.tasks.sweep_warming",
    "cdn.tasks.prune_decisions",
    "cdn.tasks.ingest_edge_logs",
    "cdn.tasks.prune_edge_traffic",
    "cdn.tasks.decide_edge_lists",
    "cdn.tasks.touch_edges",
    "cdn.tasks.touch_edge",
    "insights.tasks.rollup_days",
    "insights.tasks.record_revenue",
):
    CELERY_TASK_ROUTES[_batch_task] = {"queue": "batch"}

# Every periodic task is declared here, and nowhere else.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # --- the project and accounts
    # The email outbox: what a lost message or a killed worker left unsent goes out again.
    "streamsite.outbox-sweep": {
        "task": "streamsite.tasks.sweep_outbound_email",
        "schedule": 60.0,
    },
    "accounts.clear-expired-sessions": {
        "task": "accounts.tasks.clear_expired_sessions",
        "schedule": crontab(minute=17, hour="*"),
    },
    # API tokens' last uses, noted in Redis by requests (accounts.token_touch).
    "accounts.flush-token-touches": {
        "task": "accounts.tasks.flush_token_touches",
        "schedule": 60.0,
    },
    # --- billing
    "billing.renewals": {
        "task": "billing.tasks.run_renewals",
        "schedule": crontab(minute="*/5"),
    },
    "billing.dunning": {
        "task": "billing.tasks.run_dunning",
        "schedule": crontab(minute="2-59/5"),
    },
    "billing.webhooks-sweep": {
        "task": "billing.tasks.retry_deferred_webhooks",
        "schedule": crontab(minute="*"),
    },
    "billing.purge-idempotency-keys": {
        "task": "billing.tasks.purge_idempotency_keys",
        "schedule": crontab(minute=41, hour="*"),
    },
    # --- catalog: writes only flag titles; these drain the flag and recount popularity.
    "catalog.refresh-search-index": {
        "task": "catalog.tasks.search.refresh_search_index",
        "schedule": 60.0,
    },
    "playback.refresh-popularity": {
        "task": "playback.tasks.refresh_popularity",
        "schedule": crontab(minute="*/15"),
    },
    # --- media
    "media.sweep-stale": {
        "task": "media.tasks.media_sweep_stale",
        "schedule": 30.0,
    },
    "media.sweep-orphans": {
        "task": "media.tasks.media_sweep_orphans",
        "schedule": crontab(minute=41, hour="*"),
    },
    # --- playback
    "playback.flush-positions": {
        "task": "playback.tasks.flush_positions",
        "schedule": 10.0,
    },
    "playback.prune-qoe-minutes": {
        "task": "playback.tasks.prune_qoe_minutes",
        "schedule": crontab(minute=47, hour="*"),
    },
    # --- recommendations
    "recommendations.fold-activity": {
        "task": "recommendations.tasks.fold_activity",
        "schedule": 60.0,
    },
    "recommendations.train-nightly": {
        "task": "recommendations.tasks.train_nightly",
        "schedule": crontab(minute=30, hour=3),
    },
    "recommendations.sweep-trainings": {
        "task": "recommendations.tasks.sweep_trainings",
        "schedule": crontab(minute=41, hour="*"),
    },
    # --- cdn
    "cdn.warm-sites": {
        "task": "cdn.tasks.warm_sites",
        "schedule": crontab(minute=5, hour="*"),
    },
    # Pre-fetches whose message was lost or whose worker died.
    "cdn.sweep-warming": {
        "task": "cdn.tasks.sweep_warming",
        "schedule": crontab(minute="*/5"),
    },
    "cdn.prune-decisions": {
        "task": "cdn.tasks.prune_decisions",
        "schedule": crontab(minute=41, hour="*"),
    },
    # The edges' access logs (CDN_EDGE_LOG_PATHS), read where the last run stopped.
    "cdn.ingest-edge-logs": {
        "task": "cdn.tasks.ingest_edge_logs",
        "schedule": 60.0,
    },
    # Every edge's lists (CDN_EDGE_LISTS_DIR), on the hour: before warming (:05) fills the pin
    # lists and the touches (:15) send the touch lists this run decides.
    "cdn.decide-edge-lists": {
        "task": "cdn.tasks.decide_edge_lists",
        "schedule": crontab(minute=0, hour="*"),
    },
    # Keep-hot touches (CDN_EDGE_TOUCH_PERCENT) of the lists `cdn_edge_lists` wrote this hour.
    "cdn.touch-edges": {
        "task": "cdn.tasks.touch_edges",
        "schedule": crontab(minute=15, hour="*"),
    },
    "cdn.prune-edge-traffic": {
        "task": "cdn.tasks.prune_edge_traffic",
        "schedule": crontab(minute=43, hour="*"),
    },
    # --- insights: the staff dashboard's rollups
    "insights.rollup-days": {
        "task": "insights.tasks.rollup_days",
        "schedule": crontab(minute="*/5"),
    },
    "insights.sample-streams": {
        "task": "insights.tasks.sample_streams",
        "schedule": 60.0,
    },
    "insights.record-revenue": {
        "task": "insights.tasks.record_revenue",
        "schedule": crontab(minute=7, hour="*"),
    },
}
