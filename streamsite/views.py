"""Site-wide views: operations probes and the front page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from streamsite.health import run_checks


# Probes read nothing from the request: no CSRF check, so any other method is a plain 405.
@csrf_exempt
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process is up and answering. Touches nothing else."""
    return JsonResponse({"status": "ok"})


@csrf_exempt
@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: database, cache and broker reachable; 503 naming what failed otherwise."""
    results = run_checks()
    failed = [r.name for r in results if not r.ok]
    body = {
        "status": "unavailable" if failed else "ok",
        "failed": failed,
        "checks": {r.name: r.as_dict() for r in results},
    }
    return JsonResponse(body, status=503 if failed else 200)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")
