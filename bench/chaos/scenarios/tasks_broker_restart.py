"""(a) N tasks of each at-least-once kind; the worker is SIGKILLed at 25% and the broker
(our own RabbitMQ node) is SIGKILLed and restarted at 60%. Expected: every effect exactly once."""

from __future__ import annotations

from bench.chaos import infra
from bench.chaos.core import Context, Outcome
from bench.chaos.drive import Drive


class TasksBrokerRestart:
    key = "a"
    title = "worker SIGKILL at 25% + broker restart at 60%"

    def unavailable(self, ctx: Context) -> str | None:
        return None if infra.RabbitNode.available() else "needs rabbitmq-server"

    def run(self, ctx: Context) -> list[Outcome]:
        n = ctx.extra.get("n") or (150 if ctx.fast else 2000)
        drive = Drive(ctx, "a", n)
        try:
            drive.start_worker()
            drive.enqueue()
            drive.wait_progress(0.25)
            drive.fault("worker SIGKILL", drive.kill_worker_and_replace)
            drive.wait_progress(0.60)
            drive.fault("broker restart", drive.restart_broker)
            return drive.converge()
        finally:
            drive.stop()


SCENARIO = TasksBrokerRestart()
