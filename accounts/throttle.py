"""Failure counters with a cool-off, kept in the cache (login, PIN and 2FA attempts).

A key is locked once it reaches its limit of failures and unlocks by itself after the cool-off:
there is no permanent lock-out. A progressive rule keeps counting while locked and doubles the
cool-off with every further failure (up to `max_cooloff`). A rule with `locks=False` only
counts (a ceiling that callers read with `failures`). Checking a lock is one cache read, so a
locked attempt costs no password hash. Time comes from `now()` so tests can move the clock.
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
    cooloff: int  # seconds the lock lasts (the first lock, for a progressive rule)
    progressive: bool = False  # each failure past the limit doubles the cool-off
    max_cooloff: int = 0  # cap of a progressive cool-off (0: the cool-off itself)
    locks: bool = True  # False: only count


def lock_seconds(rule: Rule, count: int) -> int:
    """How long the `count`-th failure locks for (0: not yet at the limit)."""
    if not rule.locks or count < rule.limit:
        return 0
    if not rule.progressive:
        return rule.cooloff
    return min(rule.cooloff * 2 ** (count - rule.limit), rule.max_cooloff or rule.cooloff)


def failures(rule: Rule, ident: str) -> int:
    """Failures counted for `ident` within the rule's window."""
    return int(cache.get(_key(rule, ident, "fails")) or 0)


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
    seconds = lock_seconds(rule, count)
    if seconds:
        cache.set(_key(rule, ident, "lock"), now() + seconds, timeout=seconds + 60)
        if not rule.progressive:
            cache.delete(fails_key)
        return True
    return False


def mark(rule: Rule, ident: str, kind: str, seconds: int) -> None:
    """Remember a flag for `ident` (e.g. "unlocked by an emailed link") for `seconds`."""
    cache.set(_key(rule, ident, kind), 1, timeout=seconds)


def marked(rule: Rule, ident: str, kind: str) -> bool:
    return cache.get(_key(rule, ident, kind)) is not None


def reset(rule: Rule, ident: str) -> None:
    cache.delete_many([_key(rule, ident, "fails"), _key(rule, ident, "lock")])
