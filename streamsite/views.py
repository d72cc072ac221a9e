"""Site-wide views: operations probes and the first steps after picking a profile."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from accounts.selectors import request_profile
from billing.selectors import account_ever_subscribed
from recommendations.selectors import profile_needs_onboarding
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
    """Readiness: database, cache and broker reachable, and the cache serving this database
    (streamsite.cache_claim); 503 naming what failed otherwise."""
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


PLANS_OFFERED = "start_plans_offered"
ONBOARDING_OFFERED = "start_onboarding_offered"


@never_cache
def first_steps(request: HttpRequest) -> HttpResponse:
    """Where a viewer goes after picking a profile: an account that never had a plan sees the
    plan picker, a profile with nothing to go on picks three titles, then home. Each step is
    offered once a session, so "choose later" and "skip" are respected."""
    if not request.user.is_authenticated:
        return redirect("home")
    profile = request_profile(request, required=False)
    if profile is None:
        return redirect("accounts:picker")
    session = request.session
    if not session.get(PLANS_OFFERED) and not account_ever_subscribed(request.user):  # type: ignore[arg-type]
        session[PLANS_OFFERED] = True
        return redirect(f"{reverse('billing:plans')}?welcome=1")
    offered = list(session.get(ONBOARDING_OFFERED, []))
    if profile.pk not in offered and profile_needs_onboarding(profile):
        session[ONBOARDING_OFFERED] = [*offered, profile.pk]
        return redirect("recommendations:onboarding")
    return redirect("home")


def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers and crawlers ask for whatever the page links: the icon."""
    response = redirect(static("icons/favicon.ico"), permanent=True)
    response["Cache-Control"] = "public, max-age=86400"
    return response
