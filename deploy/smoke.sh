#!/usr/bin/env bash
# Container smoke test (CI): the image's migrate, web and worker roles against the host's
# PostgreSQL and Redis (DATABASE_URL, REDIS_URL), with a read-only root filesystem:
#   1. migrate runs to completion;
#   2. /readyz answers 200 through the web container, with a real broker;
#   3. a task goes through the broker into the worker container and its result comes back;
#   4. the metrics port sums the request counters of the web container's workers;
#   5. SIGTERM stops gunicorn and Celery cleanly (exit 0, warm shutdown) within the grace.
# Usage: DATABASE_URL=... REDIS_URL=... deploy/smoke.sh [IMAGE]
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:-${IMAGE:-localhost/streamsite:latest}}
: "${DATABASE_URL:?DATABASE_URL must name the PostgreSQL database to use}"
: "${REDIS_URL:?REDIS_URL must name the Redis database to use}"
podman() { bash deploy/podman.sh "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fail() { echo "SMOKE FAILED: $*" >&2; exit 1; }

tag=smoke-$$
web=$tag-web worker=$tag-worker volume=$tag-media
port=$(free_port) metrics=$(free_port) worker_metrics=$(free_port)
grace=25
cleanup() {
  podman rm -f -t 0 "$web" "$worker" >/dev/null 2>&1 || true
  podman volume rm -f "$volume" >/dev/null 2>&1 || true
}
trap cleanup EXIT

random_secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(48))'; }
# Production's secrets, each its own random value (streamsite.checks, billing.checks).
secret=$(random_secret) cdn_secret=$(random_secret)
webhook_secret=$(random_secret)
# The pods' settings: production, plain HTTP on loopback (the probes' path is exempt anyway).
run() {
  podman run --network=host --read-only -v "$volume:/var/lib/streamsite" \
    -e DATABASE_URL -e REDIS_URL -e SECRET_KEY="$secret" \
    -e CACHE_KEY_PREFIX="${CACHE_KEY_PREFIX:-streamsite-smoke}" \
    -e CDN_SIGNING_SECRETS="$cdn_secret" \
    -e BILLING_SANDBOX_WEBHOOK_SECRET="$webhook_secret" \
    -e ALLOWED_HOSTS=127.0.0.1,localhost -e SECURE_SSL_REDIRECT=false \
    -e WEB_CONCURRENCY=2 -e CELERY_CONCURRENCY=1 "$@"
}

echo "--- migrate"
run --rm "$image" migrate || fail "migrate role"

echo "--- web on 127.0.0.1:$port (metrics :$metrics), worker (metrics :$worker_metrics)"
run -d --name "$web" -e BIND="127.0.0.1:$port" -e METRICS_PORT="$metrics" "$image" web >/dev/null
run -d --name "$worker" -e METRICS_PORT="$worker_metrics" "$image" worker default >/dev/null

status=000
for _ in $(seq 1 120); do
  status=$(curl -s -o /tmp/$tag-readyz.json -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)
  [ "$status" = 200 ] && break
  sleep 1
done
[ "$status" = 200 ] || { podman logs "$web" | tail -40; fail "/readyz answered $status"; }
python3 - "/tmp/$tag-readyz.json" <<'PY' || fail "/readyz body"
import json, sys
body = json.load(open(sys.argv[1]))
assert body["status"] == "ok", body
assert body["checks"]["broker"]["ok"] is True and "detail" not in body["checks"]["broker"], body
PY
rm -f "/tmp/$tag-readyz.json"
echo "/readyz 200 with a real broker"
podman healthcheck run "$web" || fail "image HEALTHCHECK (web)"

echo "--- task round trip through the broker into the worker container"
reply=$(podman exec "$web" python -c '
import django; django.setup()
from streamsite.celery import app
print(app.send_task("streamsite.ping", queue="default").get(timeout=90))
') || { podman logs "$worker" | tail -40; fail "task round trip"; }
[ "$reply" = pong ] || fail "task answered $reply"
podman logs "$worker" 2>&1 | grep -q "Task streamsite.ping\[.*\] succeeded" \
  || fail "the ping did not run in the worker container"
echo "streamsite.ping -> $reply, run by the worker container"
podman healthcheck run "$worker" || fail "image HEALTHCHECK (worker)"

echo "--- metrics"
healthz_count() {
  curl -sf "http://127.0.0.1:$metrics/metrics" \
    | sed -n 's/^streamsite_http_requests_total{method="GET",status="200",view="healthz"} //p'
}
before=$(healthz_count)
for _ in 1 2 3 4 5; do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; done
after=$(healthz_count)
python3 -c "import sys; sys.exit(float('$after') - float('${before:-0}') != 5)" \
  || fail "web metrics: healthz counted ${before:-0} then $after"
curl -sf "http://127.0.0.1:$worker_metrics/metrics" | grep -E '^streamsite_celery_tasks_total\{state="SUCCESS",task="streamsite.ping"\} 1.0$' \
  || fail "worker metrics"
echo "metrics: 5 healthz requests summed over both gunicorn workers, 1 task counted"
podman stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.CPUPerc}}' "$web" "$worker" || true

echo "--- SIGTERM (grace ${grace}s)"
for name in "$web" "$worker"; do
  started=$(date +%s)
  podman stop -t "$grace" "$name" >/dev/null
  took=$(( $(date +%s) - started ))
  code=$(podman inspect -f '{{.State.ExitCode}}' "$name")
  [ "$code" = 0 ] || { podman logs "$name" | tail -20; fail "$name exited $code after SIGTERM"; }
  [ "$took" -lt "$grace" ] || fail "$name took ${took}s to stop"
  echo "$name stopped cleanly in ${took}s"
done
podman logs "$web" 2>&1 | grep -q "Shutting down: Master" || fail "gunicorn did not shut down gracefully"
podman logs "$worker" 2>&1 | grep -qi "warm shutdown" || fail "celery did not do a warm shutdown"
echo "SMOKE OK"
