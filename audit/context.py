"""Who is acting, and from where, for the request being served: a middleware puts the
request in a context variable so that services deep below a view can write an audit row
without every caller passing the request down. Outside a request (tasks, commands) there is
no actor and no address."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


def current_request() -> HttpRequest | None:
    return _request.get()


class AuditContextMiddleware:
    """Place after AuthenticationMiddleware. DRF authenticates later, in the view, and then
    sets request.user on this same HttpRequest, so the actor is read when a row is written."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
