"""Failure counters with a cool-off, kept in the cache (login, PIN and 2FA attempts).

A key is locked once it reaches its limit of failures and unlocks by itself after the cool-off:
there is no permanent lock-out. Checking a lock is one cache read, so a locked attempt costs no
password hash. Time comes from `now()` so tests can move the clock.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone


def now() -> float:
    return timezone.now().timestamp()


@dataclass(frozen=True)
class Rule:
    scope: str
    limit: int  # failures before the lock
    window: int  # seconds within which failures are counted
    cooloff: int  # seconds the lock lasts


def _key(rule: Rule, ident: str, kind: str) -> str:
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"throttle:{rule.scope}:{kind}:{digest}"


def locked_for(rule: Rule, ident: str) -> int:
    """Seconds until `ident` may try again; 0 when it is not locked."""
    until = cache.get(_key(rule, ident, "lock"))
    if until is None:
        return 0
    remaining = float(until) - now()
    return math.ceil(remaining) if remaining > 0 else 0


def register_failure(rule: Rule, ident: str) -> bool:
    """Count one failure; returns True when this failure locked `ident`."""
    fails_key = _key(rule, ident, "fails")
    cache.add(fails_key, 0, timeout=rule.window)
    try:
        count = cache.incr(fails_key)
    except ValueError:  # expired between add and incr
        cache.set(fails_key, 1, timeout=rule.window)
        count = 1
    if count >= rule.limit:
        cache.set(_key(rule, ident, "lock"), now() + rule.cooloff, timeout=rule.cooloff + 60)
        cache.delete(fails_key)
        return True
    return False


def reset(rule: Rule, ident: str) -> None:
    cache.delete_many([_key(rule, ident, "fails"), _key(rule, ident, "lock")])
