"""(b) PostgreSQL backends of the workers terminated (pg_terminate_backend) again and again
while they process tasks, mid-transaction or idle. Only backends of this run's own database
whose application_name is the chaos workers' are touched."""

from __future__ import annotations

import threading

from bench.chaos.core import Context, Outcome
from bench.chaos.drive import WORKER_APP_NAME, Drive


def _killer(database_url: str, stop: threading.Event, killed: list[int]) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True, application_name="chaos-killer") as conn:
        while not stop.wait(0.3):
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = %s "
                "AND pid <> pg_backend_pid()",
                [WORKER_APP_NAME],
            ).fetchall()
            killed.append(sum(1 for (ok,) in rows if ok))


class DbBackendsKilled:
    key = "b"
    title = "PostgreSQL backends terminated under load"

    def unavailable(self, ctx: Context) -> str | None:
        if not ctx.database_url.startswith("postgres"):
            return "needs DATABASE_URL=postgres://..."
        return None

    def run(self, ctx: Context) -> list[Outcome]:
        n = ctx.extra.get("n_db") or (100 if ctx.fast else 1000)
        drive = Drive(ctx, "b", n)
        stop, killed = threading.Event(), []
        killer = threading.Thread(target=_killer, args=(ctx.database_url, stop, killed))
        try:
            drive.start_worker()
            drive.enqueue()
            killer.start()
            drive.faults.append(("backends terminated", drive.clock()))
            drive.wait_progress(0.8, timeout=300)
            stop.set()
            killer.join()
            outcomes = drive.converge()
            for o in outcomes:
                o.note = (o.note + "; " if o.note else "") + f"{sum(killed)} backends terminated"
            return outcomes
        finally:
            stop.set()
            drive.stop()


SCENARIO = DbBackendsKilled()
