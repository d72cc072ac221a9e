"""One exception handler, one JSON error shape for the whole API.

Every error body is {"error": {"status": 400, "code": "...", "message": "...", "fields": {...}}};
`fields` is present only for validation errors and maps field names to lists of messages.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from streamsite.errors import DomainError


def error_body(status_code: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"status": status_code, "code": code, "message": message, **extra}}


def _first_message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        message = _first_message(value)
        return message if key == "non_field_errors" else f"{key}: {message}"
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(
            error_body(exc.status, exc.code, exc.message, **exc.extra), status=exc.status
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django's 500 handling and logging see it
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body(
            response.status_code, "invalid", _first_message(exc.detail), fields=fields
        )
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        extra = {}
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            extra["retry_after"] = max(1, int(wait))
        response.data = error_body(response.status_code, code, str(exc.detail), **extra)
    return response


def json_404(request: Any, exception: Exception | None = None) -> Any:
    """404 for unknown /api/ URLs in the API's error shape; HTML pages elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body(status.HTTP_404_NOT_FOUND, "not_found", gettext("No such endpoint.")),
            status=404,
        )
    return page_not_found(request, exception)  # type: ignore[arg-type]


def json_500(request: Any) -> Any:
    from django.http import JsonResponse
    from django.views.defaults import server_error

    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body(500, "server_error", gettext("Something went wrong on our side.")),
            status=500,
        )
    return server_error(request)
