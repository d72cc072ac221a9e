"""The health poller: probes every edge, publishes versioned health to Redis (long-running)."""

from __future__ import annotations

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from cdn.health import EdgeTarget, Poller, get_store
from cdn.models import Edge
from cdn.services import edges_save_health


def edge_targets() -> list[EdgeTarget]:
    return [
        EdgeTarget(
            id=e.id,
            health_url=e.probe_health_url(),
            status_url=e.probe_status_url(),
            capacity=e.capacity,
        )
        for e in Edge.objects.exclude(admin_state=Edge.AdminState.OFFLINE).order_by("id")
    ]


class Command(BaseCommand):
    help = "Probe every CDN edge with hysteresis and publish the health state (runs until stopped)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one round, then exit")
        parser.add_argument("--rounds", type=int, default=0, help="stop after N rounds (0: never)")
        parser.add_argument("--interval", type=float, default=None)
        parser.add_argument("--timeout", type=float, default=None)
        parser.add_argument("--down-after", type=int, default=None, help="K failures → down")
        parser.add_argument("--up-after", type=int, default=None, help="M successes → up")

    def handle(self, *args, **opts):
        interval = opts["interval"] or settings.CDN_HEALTH_INTERVAL
        poller = Poller(
            store=get_store(),
            targets=edge_targets,
            down_after=opts["down_after"] or settings.CDN_HEALTH_DOWN_AFTER,
            up_after=opts["up_after"] or settings.CDN_HEALTH_UP_AFTER,
            timeout=opts["timeout"] or settings.CDN_HEALTH_TIMEOUT,
            on_change=lambda health: edges_save_health(health=health),
        )
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
        rounds = 1 if opts["once"] else opts["rounds"]
        done = 0
        while not stopping:
            started = time.monotonic()
            health = poller.round()
            done += 1
            up = sum(1 for h in health.values() if h.up)
            self.stdout.write(f"round {done}: {up}/{len(health)} edges up")
            if rounds and done >= rounds:
                break
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
