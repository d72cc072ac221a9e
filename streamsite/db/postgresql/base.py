"""Django's PostgreSQL backend (psycopg 3), with the per-request connection health check made
without a round trip.

With `CONN_HEALTH_CHECKS`, Django checks a persistent connection before the first query of each
request by sending `SELECT 1` (`is_usable`): a round trip, and on a threaded worker a wait for
the GIL after it, on every request that touches the database (docs/benchmarks.md, twelfth
pass). The check here asks the connection's socket instead: between statements PostgreSQL
sends nothing, so a socket with data waiting, or at end of file, is one the server has spoken
on unasked, which it does when it ends the session (a restart, `pg_terminate_backend`, an idle
timeout: an error message, then the close). Such a connection, or one psycopg already knows to
be closed or broken, is closed, and the request's first query opens a new one, as after
Django's own check. A message the server sends unasked on a live session (a NOTIFY after
LISTEN, a parameter's new value after a configuration reload) closes it too: one needless
reconnect, never a broken query. What neither check can see without waiting on the network
(a host gone without closing the connection) fails the query, which Django then handles as
before (`errors_occurred`: the next request's `is_usable` runs the real `SELECT 1`)."""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    health_check_enabled: Any
    health_check_done: Any

    def close_if_health_check_failed(self) -> None:
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if not self.socket_intact():
            self.close()
        self.health_check_done = True

    def socket_intact(self) -> bool:
        """True unless the connection is known closed or broken, or its socket has something
        to read (or is at end of file) while no statement is running."""
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable
