"""Whether code runs inside a database transaction of the program's own, and changes to shared
caches held back until the transaction that made them commits."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from django.db import connection, transaction


def _test_case_blocks() -> int:
    """How many of the open atomic blocks a test case opened around the test (Django's durable
    check excepts them the same way)."""
    return sum(bool(getattr(block, "_from_testcase", False)) for block in connection.atomic_blocks)


def in_program_transaction() -> bool:
    """Whether the default connection is inside a transaction the program opened: an atomic
    block, or autocommit turned off. The atomic blocks a test case wraps each test in are
    excepted, so code behaves in a test as it would in a request."""
    if connection.in_atomic_block:
        return len(connection.atomic_blocks) > _test_case_blocks()
    return not connection.get_autocommit()


def _deferrable() -> bool:
    """Inside an atomic block whose commit will run on-commit callbacks: one of the program's,
    and not inside a test case's own transaction (which never commits)."""
    return connection.in_atomic_block and not _test_case_blocks()


class CommitHook:
    """A shared-cache bump that waits for the commit of the transaction whose writes it
    announces, so no cache call happens inside a transaction, and runs once per transaction
    however many writes announce it.

    `announce()` inside an atomic block of the program's registers `apply` to run on commit
    (unless it already waits for this one) and answers True; elsewhere it answers False and
    the caller applies the change itself, at once. `waiting()` says whether this thread's open
    transaction has a change still waiting: its own reads must not trust the shared cache,
    which has not heard of the change. A rolled-back transaction (or savepoint) drops the
    waiting hook with the writes it announced, as Django drops its on-commit callbacks.

    Under a test case's own transaction (pytest-django's `django_db`, Django's TestCase) the
    program's commit is only a savepoint release and on-commit callbacks never run, so there
    the change is applied at once, as it was before the hook; transactional tests
    (`django_db(transaction=True)`) commit for real and see the hook wait."""

    def __init__(self, apply: Callable[[], None]) -> None:
        self._apply = apply  # one object for the hook's life: what the callback list holds
        # Set by announce() in this thread: until then waiting() needs no look at the
        # connection (it is asked on every cached read).
        self._local = threading.local()

    def _registered(self) -> bool:
        """Whether `apply` waits among the connection's on-commit callbacks. Django only appends
        to that list, or replaces it with a new one (commit, rollback, savepoint rollback), so
        while it is the list our callback went into, the callback is still there: a look per
        write, not a scan (an import announces once per row, beside a callback per row)."""
        hooks = connection.run_on_commit
        if getattr(self._local, "hooks", None) is hooks:
            return True
        found = any(entry[1] is self._apply for entry in hooks)
        self._local.hooks = hooks if found else None
        return found

    def announce(self) -> bool:
        if not _deferrable():
            return False
        if not self._registered():
            transaction.on_commit(self._apply)
            self._local.hooks = connection.run_on_commit
        self._local.announced = True
        return True

    def waiting(self) -> bool:
        if not getattr(self._local, "announced", False):
            return False
        if not connection.in_atomic_block or not self._registered():
            self._local.announced = False  # committed or rolled back
            self._local.hooks = None
            return False
        return True


class KeyedCommitHook(CommitHook):
    """`CommitHook` for changes to some entries of a cache (one account's entitlements, one
    profile's home page): `announce(key)`, and on commit `apply(keys)` once with every key the
    transaction announced; `waiting(key)` for the writer's own reads. A key announced inside a
    savepoint that rolled back stays announced while the transaction has others: its entry is
    dropped once more than it needed, never kept when it should go."""

    def __init__(self, apply: Callable[[frozenset[Hashable]], None]) -> None:
        super().__init__(self._apply_keys)
        self._apply_many = apply

    def _keys(self) -> set[Hashable]:
        keys: set[Hashable] | None = getattr(self._local, "keys", None)
        if keys is None:
            keys = self._local.keys = set()
        return keys

    def _apply_keys(self) -> None:
        keys = frozenset(self._keys())
        self._local.keys = set()
        if keys:
            self._apply_many(keys)

    def announce(self, key: Hashable = None) -> bool:
        if not _deferrable():
            return False
        if not self._registered():
            self._local.keys = set()  # a new transaction: what an old one left is gone
        self._keys().add(key)
        return super().announce()

    def waiting(self, key: Hashable = None) -> bool:
        return key in self._keys() and super().waiting()
