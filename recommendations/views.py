"""Browser pages of recommendations: cold-start onboarding (pick 3+ titles you like)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.selectors import request_profile
from catalog.selectors.titles import artwork_url
from recommendations import activity, rows
from streamsite.errors import ValidationFailed


def onboarding(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    profile = request_profile(request)
    assert profile is not None
    error = ""
    chosen: set[int] = set()
    if request.method == "POST":
        try:
            chosen = {int(v) for v in request.POST.getlist("title_ids")}
        except ValueError:
            chosen, error = set(), _("Those picks are not title ids.")
        if not error:
            try:
                activity.onboarding_complete(profile=profile, title_ids=sorted(chosen))
            except ValidationFailed as exc:
                error = exc.message
            else:
                messages.success(request, _("Thanks! Your picks are on your home page now."))
                return redirect("/")
    titles = rows.onboarding_candidates(profile)
    cards = [
        {"title": t, "poster": artwork_url(t, "poster", "md"), "checked": t.pk in chosen}
        for t in titles
    ]
    return render(
        request,
        "recommendations/onboarding.html",
        {"profile": profile, "cards": cards, "error": error, "min_picks": activity.ONBOARDING_MIN},
        status=400 if error else 200,
    )
