"""The image's HEALTHCHECK: `entrypoint.sh healthcheck` asks the process of this container's role.

web: `GET /healthz` on the bound port (Host: localhost). worker: a Celery ping answered by this
container's own node. beat, cdnhealth: the process is PID 1's child, so a running container is
a live process; nothing more to ask. Exit 0 healthy, 1 not.
"""

from __future__ import annotations

import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path

# Written by deploy/entrypoint.sh inside the container (its own /tmp volume).
ROLE_FILE = Path("/tmp/streamsite-role")  # noqa: S108


def web_healthy(bind: str) -> bool:
    port = bind.rsplit(":", 1)[-1]
    request = urllib.request.Request(  # noqa: S310 - a fixed loopback http URL
        f"http://127.0.0.1:{port}/healthz", headers={"Host": "localhost"}
    )
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def worker_healthy(queues: str) -> bool:
    from streamsite.celery import app

    # The entrypoint names the node after its first queue: ask that node only, and stop at
    # its answer instead of waiting out the timeout for every worker in the cluster.
    node = f"{queues.split(',')[0]}@{socket.gethostname()}"
    replies = app.control.ping(destination=[node], limit=1, timeout=3.0) or []
    return any(node in reply for reply in replies)


def main() -> int:
    import os

    words = ROLE_FILE.read_text().split() if ROLE_FILE.exists() else []
    role = words[0] if words else ""
    if role == "web":
        return 0 if web_healthy(os.environ.get("BIND", "0.0.0.0:8000")) else 1  # noqa: S104
    if role == "worker":
        import django

        django.setup()
        return 0 if worker_healthy(words[1] if len(words) > 1 else "default") else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
