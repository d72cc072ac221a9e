"""What an account may do, from what it paid for: the one function the rest of the service asks.

`get_entitlements(account)` is cached per account (Django cache) and invalidated after commit
on every subscription change (never inside the transaction: streamsite.db.transactions); a
cached value also carries the moment it stops being true (end of the grace period, end of
the period), checked against the billing clock. Inside a
request the cached value is read through `streamsite.shared_counters.get_many`, so a view that
knows it will ask (playback start) can have it ride along with the request's first cache round
trip (`cache_key`, asked for by accounts.authentication); what rode along is still checked here.
Each process keeps near copies of them (streamsite.near_cache), dropped when Redis says the key
changed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache

from billing import clock
from billing.models import Subscription, SubscriptionStatus
from streamsite import near_cache, prebuilt, shared_counters
from streamsite.db.transactions import KeyedCommitHook

if TYPE_CHECKING:
    from accounts.models import User

CACHE_TTL = 60 * 60


@dataclass(frozen=True)
class Entitlements:
    can_stream: bool
    max_streams: int
    max_resolution: int
    max_profiles: int
    plan_code: str | None
    status: str
    reason: str


# Each process keeps near copies of the accounts' cached entitlements (streamsite.near_cache):
# Redis tells it when one is deleted or rewritten, so a start or heartbeat of an account the
# process has served makes no round trip for them. `get_entitlements` only reads the value, so
# it is decoded once per copy (`shared`).
KEY_PREFIX = near_cache.keep("billing:entitlements:", shared=True)


def cache_key(account_id: int) -> str:
    return f"{KEY_PREFIX}{account_id}"


def grace_ends_at(past_due_since: datetime) -> datetime:
    """Until when a past-due account keeps streaming: BILLING_GRACE_DAYS after it fell due."""
    return past_due_since + timedelta(days=settings.BILLING_GRACE_DAYS)


def _drop(account_ids: frozenset[Any]) -> None:
    cache.delete_many([cache_key(pk) for pk in account_ids])
    shared_counters.forget()  # nor what this request read before the delete


_drop_on_commit = KeyedCommitHook(_drop)


def invalidate(account_id: int) -> None:
    """Drop the cached entitlements (and whatever this request read early with its shared
    counters). Inside a transaction of the program's, once it commits (one multi-key delete
    for all the accounts it changed; no cache call inside it), and until then this thread
    computes the account's entitlements from its own rows and stores none; a reader elsewhere,
    who cannot see the uncommitted rows, may store the old ones, which the delete removes.
    Outside a transaction, at once."""
    invalidate_many([account_id])


def invalidate_many(account_ids: list[int]) -> None:
    """`invalidate` for a batch."""
    shared_counters.forget()
    waiting = [pk for pk in account_ids if _drop_on_commit.announce(pk)]
    if len(waiting) < len(account_ids):
        _drop(frozenset(account_ids))


def get_entitlements(account: User) -> Entitlements:
    now = clock.now()
    key = cache_key(account.pk)
    if _drop_on_commit.waiting(account.pk):  # this transaction changed them: its own rows
        return compute(account.pk, now)[0]
    cached = shared_counters.get_many([key]).get(key)
    if cached is not None:
        valid_until = cached["valid_until"]
        if valid_until is None or now < valid_until:
            return Entitlements(**cached["value"])
    value, valid_until = compute(account.pk, now)
    cache.set(key, {"value": asdict(value), "valid_until": valid_until}, CACHE_TTL)
    return value


def profile_limit(account: User) -> int:
    """ACCOUNTS_PROFILE_LIMIT_PROVIDER: how many profiles the account's plan allows."""
    return get_entitlements(account).max_profiles


# What `compute` reads: the account's subscription (one at most) and its plan.
_ROW = [
    "status",
    "past_due_since",
    "plan__max_streams",
    "plan__max_resolution",
    "plan__max_profiles",
    "plan__code",
]

# Compiled once per process: an account's first start of the hour runs it (the ORM's compile
# of the join cost several times what the database spends on it).
_subscription_row = prebuilt.ValuesQuery(
    lambda account_id: (
        Subscription.objects.filter(account_id=account_id).order_by().values_list(*_ROW)
    )
)


def compute(account_id: int, now: datetime) -> tuple[Entitlements, datetime | None]:
    rows = _subscription_row(account_id)
    without_plan = settings.BILLING_PROFILES_WITHOUT_PLAN
    if not rows:
        return Entitlements(
            False, 0, 0, without_plan, None, "none", "Choose a plan to start watching."
        ), None
    status, past_due_since, max_streams, max_resolution, max_profiles, plan_code = rows[0]
    granted = Entitlements(
        can_stream=True,
        max_streams=max_streams,
        max_resolution=max_resolution,
        max_profiles=max_profiles,
        plan_code=plan_code,
        status=status,
        reason="",
    )
    if status in (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE):
        return granted, None
    if status == SubscriptionStatus.PAST_DUE and past_due_since is not None:
        grace_end = grace_ends_at(past_due_since)
        if now < grace_end:
            return granted, grace_end
        return Entitlements(
            False,
            0,
            0,
            max_profiles,
            plan_code,
            status,
            "Your payment is overdue. Update your card on the billing page to keep watching.",
        ), None
    reasons = {
        SubscriptionStatus.INCOMPLETE: "Your first payment has not gone through yet.",
        SubscriptionStatus.CANCELED: "Your subscription was canceled. Pick a plan to come back.",
        SubscriptionStatus.EXPIRED: "Your subscription has ended. Pick a plan to come back.",
    }
    return Entitlements(
        False,
        0,
        0,
        without_plan,
        plan_code,
        status,
        reasons.get(SubscriptionStatus(status), "No active subscription."),
    ), None
