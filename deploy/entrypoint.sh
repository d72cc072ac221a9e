#!/bin/sh
# One image, many roles: the first argument says which process this container is. Each role
# execs its process so that it receives SIGTERM from tini (PID 1) directly: gunicorn finishes
# in-flight requests within --graceful-timeout, Celery does a warm shutdown (late ack requeues).
set -eu
role=${1:-}
[ $# -gt 0 ] && shift
case "$role" in
  web|worker|beat|cdnhealth)
    # A container's main process: record the role for the healthcheck (the root filesystem
    # is read-only), and turn on prometheus-client's multiprocess mode (every gunicorn/Celery
    # child writes its counters under this directory) from empty counters. One-off roles
    # (migrate, manage, healthcheck) keep their counters in their own process.
    printf '%s %s\n' "$role" "${1:-${CELERY_QUEUES:-default}}" > /tmp/streamsite-role
    export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/prometheus}"
    rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    ;;
  *)
    unset PROMETHEUS_MULTIPROC_DIR
    ;;
esac

case "$role" in
  web)
    exec gunicorn streamsite.wsgi \
      --config python:streamsite.gunicorn_conf \
      --bind "${BIND:-0.0.0.0:8000}" \
      --workers "${WEB_CONCURRENCY:-2}" \
      --worker-class gthread --threads "${WEB_THREADS:-1}" \
      --timeout 60 --graceful-timeout "${GRACEFUL_TIMEOUT:-20}" \
      --worker-tmp-dir /tmp --no-control-socket --access-logfile - "$@"
    ;;
  worker)
    # worker [QUEUE[,QUEUE]]: one Deployment per queue so each scales on its own depth.
    queues=${1:-${CELERY_QUEUES:-default}}
    [ $# -gt 0 ] && shift
    # Not when the shared cache serves another database's site (web pods fail /readyz for it;
    # a worker or beat would write into the other site's keys): exit 1 naming the remedy. A
    # one-off process: its counters stay out of the role's metrics directory.
    env -u PROMETHEUS_MULTIPROC_DIR python -m django cache_claim --check
    exec celery -A streamsite worker --queues "$queues" \
      --concurrency "${CELERY_CONCURRENCY:-2}" --loglevel INFO \
      --without-gossip --without-mingle --hostname "${queues%%,*}@%h" "$@"
    ;;
  beat)
    # Exactly one beat per cluster (a single-replica Deployment with the Recreate strategy).
    env -u PROMETHEUS_MULTIPROC_DIR python -m django cache_claim --check
    exec celery -A streamsite beat --loglevel INFO \
      --schedule "${CELERY_BEAT_SCHEDULE_FILE:-/tmp/celerybeat-schedule}" "$@"
    ;;
  cdnhealth)
    exec python -m django cdn_health_poller "$@"
    ;;
  migrate)
    # The Job run before each rollout; migrate is a no-op when the schema is current.
    exec python -m django migrate --noinput "$@"
    ;;
  manage)
    exec python -m django "$@"
    ;;
  healthcheck)
    exec python -m streamsite.healthcheck "$@"
    ;;
  *)
    echo "usage: ROLE [ARGS]; ROLE is one of web, worker [QUEUES], beat, cdnhealth, migrate, manage, healthcheck" >&2
    exit 64
    ;;
esac
