"""`make chaos` (python -m bench.chaos): run every fault scenario against real PostgreSQL
(DATABASE_URL), a RabbitMQ node of our own, real Celery workers and gunicorn; print expected /
observed / lost / duplicated effects and recovery times; exit 1 on any loss or duplicate.

    DATABASE_URL=postgres://... python -m bench.chaos [--fast] [--only a,b,c,d,e] [--n 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from bench.chaos import infra
from bench.chaos.core import Context, Outcome, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fast", action="store_true", help="the CI subset: small N, short leases")
    parser.add_argument("--only", default="", help="comma-separated scenario keys (default all)")
    parser.add_argument("--n", type=int, default=0, help="tasks per kind in scenario a")
    parser.add_argument("--json", default="", help="also write the outcomes here")
    args = parser.parse_args(argv)

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        print("make chaos needs DATABASE_URL=postgres://... (a database of your own)")
        return 2
    if not infra.RabbitNode.available():
        print("make chaos needs rabbitmq-server (it starts a node of its own)")
        return 2

    # A SIGTERM (a CI timeout) still runs the finally blocks that stop our workers and node.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="streamsite-chaos-"))
    workdir.chmod(0o755)  # the RabbitMQ node runs as the rabbitmq user
    node = infra.RabbitNode(workdir / "rabbit")
    print(f"starting a RabbitMQ node of our own on port {node.port} ...", flush=True)
    print(f"  up after {node.start():.1f} s", flush=True)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.chaos.settings",
        CELERY_BROKER_URL=node.url,
        CHAOS_MAIL_DIR=str(workdir / "mail"),
    )
    for key in ("REDIS_URL", "CELERY_RESULT_BACKEND"):
        os.environ.pop(key, None)
    import django

    django.setup()
    from django.core.management import call_command

    from bench.chaos.core import discover

    call_command("migrate", verbosity=0)

    def restart_broker() -> float:
        node.kill()
        return node.start()

    ctx = Context(
        workdir=workdir,
        fast=args.fast,
        broker_url=node.url,
        database_url=database_url,
        restart_broker=restart_broker,
        log=lambda line: print(line, flush=True),
        extra={"n": args.n},
    )
    scenarios = discover()
    wanted = [k for k in args.only.split(",") if k] or list(scenarios)
    outcomes: list[Outcome] = []
    failed = False
    try:
        for key in wanted:
            scenario = scenarios[key]
            reason = scenario.unavailable(ctx)
            print(f"\n## ({key}) {scenario.title}", flush=True)
            if reason:
                print(f"  not run: {reason}")
                failed = True
                continue
            outcomes += scenario.run(ctx)
    finally:
        node.kill()
    print("\n" + table(outcomes))
    if args.json:
        Path(args.json).write_text(json.dumps([o.as_dict() for o in outcomes], indent=2))
    failed = failed or not all(o.ok for o in outcomes)
    if failed:
        print(f"\nFAILED; logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
