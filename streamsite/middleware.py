"""Turns domain errors that reach a browser page into a rendered error page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

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
HEADINGS: dict[str, Any] = {
    "not_entitled": _("Your plan does not let you watch right now"),
    "maturity": _("This title is not for this profile"),
    "region": _("Not available in your country"),
    "unavailable": _("This title is not available"),
    "not_found": _("We couldn't find that"),
    "rate_limited": _("Too many tries"),
    "too_many_streams": _("Too many screens are playing"),
    "permission_denied": _("You can't open this page"),
    "conflict": _("That can't be done right now"),
    "invalid": _("That didn't work"),
}


def refusal_heading(exception: DomainError) -> str:
    return str(
        HEADINGS.get(exception.code)
        or HEADINGS.get(type(exception).code, _("Something went wrong"))
    )


def default_action(exception: DomainError) -> dict[str, str]:
    if exception.code == "maturity":
        return {"url": reverse("accounts:picker"), "label": gettext("Switch profile")}
    if exception.code == "rate_limited":
        return {"url": "", "label": gettext("Try again in a moment")}
    return {"url": reverse("home"), "label": gettext("Browse what you can watch")}
