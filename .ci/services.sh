#!/usr/bin/env bash
# Start PostgreSQL, Redis and RabbitMQ if they are down (idempotent), then wait until all answer.
set -euo pipefail

if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
# RabbitMQ: the production broker; the suite runs real workers against it (a vhost per test).
rabbit_up() { timeout 2 bash -c '</dev/tcp/127.0.0.1/5672' 2>/dev/null; }
if command -v rabbitmq-server >/dev/null && ! rabbit_up; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached || true
  timeout 90 rabbitmqctl await_startup || true
fi
for _ in $(seq 1 90); do
  if pg_isready -h 127.0.0.1 -p 5432 -q && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 \
    && { ! command -v rabbitmq-server >/dev/null || rabbit_up; }; then
    echo "PostgreSQL, Redis and RabbitMQ are up"; exit 0
  fi
  sleep 1
done
echo "PostgreSQL, Redis or RabbitMQ did not come up within 90 s" >&2
exit 1
