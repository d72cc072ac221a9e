"""Drives task kinds through real workers on the run's broker and database, applies faults,
ticks the sweeps as beat would, and measures effects until they converge."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from bench.chaos import infra
from bench.chaos.core import Clock, Context, Outcome
from bench.chaos.kinds import EmailKind, WebhookKind

WORKER_APP_NAME = "chaos-worker"
#: beat's sweeps run every minute in production; the harness ticks them this often
TICK_SECONDS = 5.0


def worker_env(ctx: Context) -> dict[str, str]:
    env = infra.base_env(
        DJANGO_SETTINGS_MODULE="bench.chaos.settings",
        DATABASE_URL=ctx.database_url,
        CELERY_BROKER_URL=ctx.broker_url,
        CHAOS_MAIL_DIR=str(ctx.workdir / "mail"),
        CHAOS_APP_NAME=WORKER_APP_NAME,
    )
    if ctx.fast:  # shorter leases and re-send delays so the CI subset converges in seconds
        env.update(
            CELERY_QUICK_SOFT_TIME_LIMIT="10",
            CELERY_QUICK_TIME_LIMIT="15",
            OUTBOX_RESEND_AFTER="10",
        )
    return env


class Drive:
    def __init__(self, ctx: Context, scenario: str, n: int):
        self.ctx, self.scenario, self.n = ctx, scenario, n
        self.run_id = f"{scenario}{uuid.uuid4().hex[:8]}"
        mail = ctx.workdir / "mail"
        mail.mkdir(parents=True, exist_ok=True)
        self.kinds = [EmailKind(self.run_id, n, mail), WebhookKind(self.run_id, n)]
        self.workers: list[infra.Process] = []
        self.faults: list[tuple[str, float]] = []
        self.clock = Clock()
        self.mail_before = sum(1 for _ in mail.glob("*.log"))
        self.last_tick = time.monotonic()

    # --- processes ----------------------------------------------------------------------------
    def start_worker(self) -> infra.Process:
        index = len(self.workers) + 1
        log = self.ctx.workdir / f"{self.scenario}-worker{index}.log"
        worker = infra.celery_worker(env=worker_env(self.ctx), log=log, concurrency=2).start()
        self.workers.append(worker)
        if not infra.wait_until(lambda: "ready." in worker.tail(100_000), timeout=120):
            raise RuntimeError("worker did not become ready:\n" + worker.tail())
        return worker

    def kill_worker_and_replace(self) -> None:
        self.workers[-1].kill()
        self.start_worker()

    def restart_broker(self) -> None:
        took = self.ctx.restart_broker()
        self.ctx.log(f"  broker back after {took:.1f} s")

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop(timeout=20)

    # --- work and faults ----------------------------------------------------------------------
    def enqueue(self) -> None:
        for kind in self.kinds:
            kind.enqueue()
        self.ctx.log(
            f"  enqueued {self.n} x {[k.name for k in self.kinds]} at {self.clock():.1f} s"
        )

    def done_fraction(self) -> float:
        email, webhook = self.kinds
        done = (email.progress() - self.mail_before) + webhook.progress()
        return done / (self.n * len(self.kinds))

    def wait_progress(self, fraction: float, timeout: float = 600) -> None:
        def reached() -> bool:
            self.tick_if_due()  # beat keeps running while faults happen
            return self.done_fraction() >= fraction

        infra.wait_until(reached, timeout=timeout, interval=0.1)

    def tick_if_due(self) -> None:
        if time.monotonic() - self.last_tick >= TICK_SECONDS:
            self.tick()
            self.last_tick = time.monotonic()

    def fault(self, name: str, action: Callable[[], None]) -> None:
        at = self.clock()
        self.ctx.log(f"  {name} at {at:.1f} s ({self.done_fraction():.0%} done)")
        self.faults.append((name, at))
        action()

    def tick(self) -> None:
        """Send each kind's sweep through the broker, as beat does every minute."""
        from streamsite.celery import app

        for kind in self.kinds:
            try:
                app.send_task(kind.sweep)
            except Exception as exc:  # the broker may still be coming back
                self.ctx.log(f"  tick failed: {type(exc).__name__}: {exc}")

    def converge(self) -> list[Outcome]:
        deadline = 120 if self.ctx.fast else 900
        finished: dict[str, float] = {}
        first_fault = self.faults[0][1] if self.faults else 0.0
        started = time.monotonic()
        while time.monotonic() - started < deadline and len(finished) < len(self.kinds):
            for kind in self.kinds:
                if kind.name not in finished and len(kind.effects()) >= self.n:
                    finished[kind.name] = self.clock()
            self.tick_if_due()
            time.sleep(0.5)
        time.sleep(2)  # anything still arriving now would be a duplicate
        outcomes = []
        for kind in self.kinds:
            seen = kind.effects()
            distinct = len(seen)
            outcomes.append(
                Outcome(
                    scenario=self.scenario,
                    kind=kind.name,
                    expected=self.n,
                    observed=distinct,
                    lost=self.n - distinct,
                    duplicated=sum(seen.values()) - distinct,
                    recovery_s=(finished[kind.name] - first_fault)
                    if kind.name in finished
                    else None,
                    note=", ".join(f"{name} at {at:.0f} s" for name, at in self.faults),
                )
            )
        return outcomes
