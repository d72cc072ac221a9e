"""The real WSGI application with the crash harness's one extra crash point.

Each request writes the worker's pid (so the Stripe double can kill the worker while the
gateway call is in flight). When `$BILLING_CRASH_DIR/kill_after_commit` exists, the next
money-moving request is run to its end (every commit of ours done, the Idempotency-Key's
answer stored) and the worker is then SIGKILLed before a byte of the response is sent.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from streamsite.wsgi import application as django_application

CRASH_DIR = Path(os.environ["BILLING_CRASH_DIR"])


def application(environ, start_response):  # type: ignore[no-untyped-def]
    (CRASH_DIR / "worker.pid").write_text(str(os.getpid()))
    response = django_application(environ, start_response)
    flag = CRASH_DIR / "kill_after_commit"
    if environ["REQUEST_METHOD"] == "POST" and flag.exists():
        flag.unlink()
        os.kill(os.getpid(), signal.SIGKILL)
    return response
