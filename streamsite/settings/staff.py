"""Staff roles and the audit log: limits on what a role may do."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ImproperlyConfigured

from .project import env

# Roles are groups made by a migration (streamsite/roles.py); the matrix is in docs/operations.md.
# The most a Support refund may return, in major units of the invoice's currency (finance
# holds billing.refund_over_limit and is not limited).
STAFF_SUPPORT_REFUND_LIMIT = env.str("STAFF_SUPPORT_REFUND_LIMIT", "50.00")
try:
    if not Decimal(STAFF_SUPPORT_REFUND_LIMIT) >= 0:
        raise InvalidOperation
except InvalidOperation:
    raise ImproperlyConfigured(
        "STAFF_SUPPORT_REFUND_LIMIT must be a non-negative decimal, e.g. 50.00"
    ) from None
