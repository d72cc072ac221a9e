"""(e) The Redis cache (a throwaway server of our own) is killed while gunicorn serves pages;
every request must still succeed (the cache fails soft), before, during and after."""

from __future__ import annotations

import shutil
import time
import urllib.error
import urllib.request

from bench.chaos import infra
from bench.chaos.core import Context, Outcome

PAGES = ["/", "/healthz", "/login/", "/browse/a-z", "/search?q=the", "/signup/"]


def _sweep(base: str, seconds: float) -> tuple[int, int, list[str]]:
    """Request every page in turn for `seconds`; (requests, successes, failures seen)."""
    total, ok, failures = 0, 0, []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for page in PAGES:
            total += 1
            try:
                with urllib.request.urlopen(base + page, timeout=10) as response:
                    response.read()
                    ok += response.status == 200
            except urllib.error.HTTPError as exc:
                failures.append(f"{page}: {exc.code}")
            except OSError as exc:
                failures.append(f"{page}: {exc}")
    return total, ok, failures


class CacheDown:
    key = "e"
    title = "Redis cache down while the site serves"

    def unavailable(self, ctx: Context) -> str | None:
        return None if shutil.which("redis-server") else "needs redis-server"

    def run(self, ctx: Context) -> list[Outcome]:
        redis = infra.RedisServer(ctx.workdir / "cache-redis").start()
        port = infra.free_port()
        env = infra.base_env(
            DJANGO_SETTINGS_MODULE="bench.chaos.settings",
            DATABASE_URL=ctx.database_url,
            REDIS_URL=redis.url,
            CELERY_BROKER_URL=ctx.broker_url,
        )
        web = infra.Process(
            [str(infra.BIN / "gunicorn"), "streamsite.wsgi", "--bind", f"127.0.0.1:{port}"]
            + ["--workers", "2", "--timeout", "30"],
            env=env,
            log=ctx.workdir / "e-web.log",
        ).start()
        base = f"http://127.0.0.1:{port}"
        phase = 5.0 if ctx.fast else 30.0
        try:
            if not infra.wait_until(lambda: infra.port_open(port), timeout=120):
                raise RuntimeError("gunicorn did not start:\n" + web.tail())
            _sweep(base, 1.0)  # warm the workers
            up = _sweep(base, phase)
            redis.kill()
            down = _sweep(base, phase * 2)
            redis.start()  # same port: the site uses it again after its retry interval
            back = _sweep(base, phase)
        finally:
            web.stop()
            redis.stop()
        outcomes = []
        for name, (total, ok, failures) in (("up", up), ("down", down), ("back", back)):
            outcomes.append(
                Outcome(
                    scenario="e",
                    kind=f"pages, cache {name}",
                    expected=total,
                    observed=ok,
                    lost=total - ok,
                    duplicated=0,
                    recovery_s=0.0 if name != "up" else None,
                    note=f"availability {ok / total:.3f}"
                    + (f"; first failures: {failures[:3]}" if failures else ""),
                )
            )
        return outcomes


SCENARIO = CacheDown()
