"""Turns domain errors that reach a browser page into a rendered error page."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from streamsite.errors import DomainError


class DomainErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        return render(
            request,
            "error.html",
            {
                "status": exception.status,
                "heading": refusal_heading(exception),
                "message": exception.message,
                "action": exception.extra.get("action") or default_action(exception),
            },
            status=exception.status,
        )


# A refusal page names the reason in words (the heading, then the message) and offers the one
# action that fixes it: the error's own `extra["action"]`, else the default for its code.
HEADINGS = {
    "not_entitled": "Your plan does not let you watch right now",
    "maturity": "This title is not for this profile",
    "region": "Not available in your country",
    "unavailable": "This title is not available",
    "not_found": "We couldn't find that",
    "rate_limited": "Too many tries",
    "too_many_streams": "Too many screens are playing",
    "permission_denied": "You can't open this page",
    "conflict": "That can't be done right now",
    "invalid": "That didn't work",
}


def refusal_heading(exception: DomainError) -> str:
    return HEADINGS.get(exception.code) or HEADINGS.get(
        type(exception).code, "Something went wrong"
    )


def default_action(exception: DomainError) -> dict[str, str]:
    if exception.code == "maturity":
        return {"url": reverse("accounts:picker"), "label": "Switch profile"}
    if exception.code == "rate_limited":
        return {"url": "", "label": "Try again in a moment"}
    return {"url": reverse("home"), "label": "Browse what you can watch"}
