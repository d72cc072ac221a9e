"""Domain exceptions raised by services and selectors; mapped to HTTP once, at the edges."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service reports to its caller on purpose."""

    status = 400
    code = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, extra: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra or {}


class ValidationFailed(DomainError):
    status = 400
    code = "invalid"


class Unauthenticated(DomainError):
    """Credentials that do not sign anyone in (a wrong email or password alike)."""

    status = 401
    code = "not_authenticated"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"


class InsufficientStorage(DomainError):
    """The disk (or bucket) cannot take the file now; the caller may try again later."""

    status = 507
    code = "insufficient_storage"
