"""The one way to write the audit log: `record(...)`, in the caller's transaction."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models
from django.utils import timezone

from audit.context import current_request
from audit.models import AuditEntry
from streamsite.client_address import UNKNOWN, client_address

# Field names whose values never go into the log, only the fact that they changed.
SECRET_NAMES = ("password", "digest", "secret", "token", "session_key", "pin", "code")
CHANGED = "(changed)"
MAX_TEXT = 200


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in SECRET_NAMES)


def jsonable(value: Any) -> Any:
    """A short JSON value for a before/after summary (model rows by pk, long text cut)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, models.QuerySet):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if hasattr(value, "name") and hasattr(value, "storage"):  # a FieldFile
        return value.name or ""
    return str(value)[:MAX_TEXT]


def summary(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` made JSON-safe, with secrets replaced by a marker."""
    return {k: CHANGED if _is_secret(k) else jsonable(v) for k, v in values.items()}


def fields_of(obj: models.Model, names: Iterable[str]) -> dict[str, Any]:
    return summary({n: getattr(obj, n, None) for n in names})


def _actor_of(request: Any) -> Any:
    user = getattr(request, "user", None) if request is not None else None
    return user if user is not None and user.is_authenticated else None


def record(
    *,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: Any = "",
    object_repr: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    actor: Any = None,
    request: Any = None,
) -> AuditEntry:
    """Append one row. Call it inside the transaction of the change it describes, so the row
    and the change commit or roll back together.

    The actor is `actor` when given (a sign-in, where the request is still anonymous), else the
    signed-in user of `request` or of the request being served; the address comes from that
    request through streamsite.client_address. `obj` fills the object's type, id and text."""
    request = request if request is not None else current_request()
    actor = actor if actor is not None else _actor_of(request)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    ip = client_address(request) if request is not None else None
    return AuditEntry.objects.create(
        at=timezone.now(),
        actor_user_id=getattr(actor, "pk", None),
        actor_email=(getattr(actor, "email", "") or "")[:254],
        action=action[:64],
        object_type=object_type[:100],
        object_id=str(object_id if object_id is not None else "")[:64],
        object_repr=object_repr[:MAX_TEXT],
        before=summary(before or {}),
        after=summary(after or {}),
        ip=None if ip in (None, UNKNOWN) else ip,
    )
