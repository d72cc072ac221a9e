"""Every Redis key under a prefix, deleted in batches: no Django here, so a benchmark's
driver (bench/http/run.py) can call it as well as `manage.py cache_claim --empty`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def glob_escaped(text: str) -> str:
    """`text` as a literal in a Redis MATCH pattern."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def unlink_prefix(
    client: Any,
    prefix: str,
    *,
    batch: int = 500,
    progress: Callable[[int], None] = lambda n: None,
) -> int:
    """UNLINK every key named `<prefix>:…` (SCAN, so Redis keeps serving meanwhile), `batch` at
    a time; how many went. `progress(n)` after each batch."""
    deleted = 0
    keys: list[bytes] = []
    for key in client.scan_iter(match=f"{glob_escaped(prefix)}:*", count=1000):
        keys.append(key)
        if len(keys) >= batch:
            deleted += int(client.unlink(*keys))
            progress(len(keys))
            keys = []
    if keys:
        deleted += int(client.unlink(*keys))
        progress(len(keys))
    return deleted
