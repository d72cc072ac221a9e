"""A probe task a real worker loads (`--include tests.streamsite.celery_probe`), and a client
that sends tasks through the broker named by CELERY_BROKER_URL (run as a module)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from celery import shared_task


@shared_task(name="tests.probe.hold", bind=True)
def hold(self, path: str, seconds: float) -> str:
    """Note each delivery in `path`, wait until `path`.release exists (or `seconds`), note done."""
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    with open(path, "a") as out:
        out.write(
            json.dumps(
                {
                    "event": "start",
                    "pid": os.getpid(),
                    "at": time.time(),
                    "redelivered": redelivered,
                }
            )
            + "\n"
        )
    release = Path(path + ".release")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not release.exists():
        time.sleep(0.05)
    with open(path, "a") as out:
        out.write(json.dumps({"event": "done", "pid": os.getpid(), "at": time.time()}) + "\n")
    return "done"


def main(argv: list[str]) -> None:
    import django

    django.setup()
    from streamsite.celery import app

    command = argv[0]
    if command == "ping":
        count = int(argv[1])
        results = [app.send_task("streamsite.ping") for _ in range(count)]
        delayed = app.send_task("streamsite.ping", countdown=1)
        print(json.dumps([r.get(timeout=60) for r in [*results, delayed]]))
    elif command == "hold":
        app.send_task("tests.probe.hold", args=[argv[1], float(argv[2])])
        print("sent")


if __name__ == "__main__":
    main(sys.argv[1:])
