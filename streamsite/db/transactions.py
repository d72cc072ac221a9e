"""Whether code runs inside a database transaction of the program's own."""

from __future__ import annotations

from django.db import connection


def in_program_transaction() -> bool:
    """Whether the default connection is inside a transaction the program opened: an atomic
    block, or autocommit turned off. The atomic blocks a test case wraps each test in are
    excepted, as Django's own durable check excepts them, so code behaves in a test as it
    would in a request."""
    if connection.in_atomic_block:
        return any(
            not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks
        )
    return not connection.get_autocommit()
