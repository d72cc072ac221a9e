"""Profile pages: the picker, switching, managing, editing, avatars and PINs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, override
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from accounts import avatars, forms, selectors, services
from accounts.models import Profile
from accounts.permissions import ensure_not_kids
from accounts.views._common import current_user, safe_next
from streamsite.errors import DomainError, NotFound, PermissionDenied, RateLimited, ValidationFailed


def _own_profile(request: HttpRequest, profile_id: int) -> Profile:
    profile = selectors.profiles_for(current_user(request)).filter(pk=profile_id).first()
    if profile is None:
        raise NotFound(_("No such profile."))
    return profile


def _unlocked_profile(request: HttpRequest, profile_id: int) -> Profile:
    profile = _own_profile(request, profile_id)
    if not selectors.profile_is_unlocked(request, profile):
        raise PermissionDenied(
            _("This profile is locked with a PIN. Switch to it (with its PIN) to change it.")
        )
    return profile


@login_required
def picker(request: HttpRequest) -> HttpResponse:
    current = selectors.request_profile(request, required=False)
    profiles = list(selectors.profiles_for(current_user(request)))
    return render(
        request,
        "accounts/picker.html",
        {
            "profiles": profiles,
            "current": current,
            "next": safe_next(request, ""),
            "can_manage": current is None or not current.is_kids,
        },
    )


@login_required
def profile_switch(request: HttpRequest, profile_id: int) -> HttpResponse:
    profile = _own_profile(request, profile_id)
    next_url = safe_next(request, settings.ACCOUNTS_PROFILE_NEXT_URL)
    form = forms.PinForm(request.POST or None)
    status = 200
    if request.method == "POST" and (not profile.has_pin or form.is_valid()):
        pin = form.cleaned_data.get("pin") if profile.has_pin else None
        try:
            services.profile_switch(request=request, profile=profile, pin=pin)
        except ValidationFailed as exc:
            form.add_service_error(exc)
            status = 400
        except RateLimited as exc:
            form.add_error(None, exc.message)
            status = 429
        else:
            return redirect(next_url)
    elif request.method == "POST":
        status = 400
    elif not profile.has_pin:
        return redirect(f"{reverse('accounts:picker')}")
    return render(
        request,
        "accounts/unlock.html",
        {"form": form, "profile": profile, "next": next_url},
        status=status,
    )


@login_required
def profiles_manage(request: HttpRequest) -> HttpResponse:
    ensure_not_kids(request)
    account = current_user(request)
    form = forms.ProfileForm(request.POST or None, initial={"language": get_language()})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            profile = services.profile_create(account=account, **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_service_error(exc)
            status = 400
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            messages.success(request, _("Profile “%(name)s” created.") % {"name": profile.name})
            return redirect("accounts:profiles-manage")
    elif form.is_bound:
        status = 400
    profiles = list(selectors.profiles_for(account))
    limit = selectors.profile_limit(account)
    return render(
        request,
        "accounts/profiles_manage.html",
        {"profiles": profiles, "form": form, "limit": limit, "full": len(profiles) >= limit},
        status=status,
    )


@login_required
def profile_edit(request: HttpRequest, profile_id: int) -> HttpResponse:
    ensure_not_kids(request)
    profile = _unlocked_profile(request, profile_id)
    initial = {
        "name": profile.name,
        "maturity": profile.maturity,
        "is_kids": profile.is_kids,
        "language": selectors.supported_language(profile.language) or get_language(),
        "avatar": profile.avatar,
    }
    form = forms.ProfileForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_update(profile=profile, **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_service_error(exc)
            status = 400
        else:
            # The viewer's own profile may just have changed language: confirm in the new one,
            # as the next page will be.
            current = selectors.request_profile(request, required=False)
            language = get_language()
            if current is not None and current.pk == profile.pk:
                language = selectors.supported_language(profile.language) or language
            with override(language):
                messages.success(request, _("Profile saved."))
            return redirect("accounts:profiles-manage")
    elif form.is_bound:
        status = 400
    return _edit_page(request, profile, form=form, status=status)


def _edit_page(request: HttpRequest, profile: Profile, status: int = 200, **forms_: Any) -> Any:
    context = {
        "profile": profile,
        "form": forms_.get("form")
        or forms.ProfileForm(
            initial={
                "name": profile.name,
                "maturity": profile.maturity,
                "is_kids": profile.is_kids,
                "language": selectors.supported_language(profile.language) or get_language(),
                "avatar": profile.avatar,
            }
        ),
        "avatar_form": forms_.get("avatar_form") or forms.AvatarUploadForm(),
        "pin_form": forms_.get("pin_form") or forms.PinSetForm(),
        "delete_error": forms_.get("delete_error"),
    }
    return render(request, "accounts/profile_edit.html", context, status=status)


@login_required
@require_POST
def profile_avatar(request: HttpRequest, profile_id: int) -> HttpResponse:
    ensure_not_kids(request)
    profile = _unlocked_profile(request, profile_id)
    form = forms.AvatarUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.profile_avatar_upload(profile=profile, upload=form.cleaned_data["image"])
        except ValidationFailed as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Picture uploaded."))
            return redirect("accounts:profile-edit", profile_id=profile.pk)
    return _edit_page(request, profile, avatar_form=form, status=400)


@login_required
@require_POST
def profile_pin(request: HttpRequest, profile_id: int) -> HttpResponse:
    ensure_not_kids(request)
    profile = _own_profile(request, profile_id)
    form = forms.PinSetForm(request.POST)
    if form.is_valid():
        try:
            services.profile_pin_set(
                profile=profile,
                account=current_user(request),
                password=form.cleaned_data["password"],
                pin=form.cleaned_data["pin"] or None,
            )
        except ValidationFailed as exc:
            form.add_service_error(exc)
        else:
            messages.success(
                request, _("PIN set.") if form.cleaned_data["pin"] else _("PIN removed.")
            )
            return redirect("accounts:profiles-manage")
    return _edit_page(request, profile, pin_form=form, status=400)


@login_required
@require_POST
def profile_delete(request: HttpRequest, profile_id: int) -> HttpResponse:
    ensure_not_kids(request)
    profile = _unlocked_profile(request, profile_id)
    try:
        services.profile_delete(profile=profile)
    except DomainError as exc:
        return _edit_page(request, profile, delete_error=exc.message, status=exc.status)
    messages.success(request, _("Profile “%(name)s” deleted.") % {"name": profile.name})
    return redirect("accounts:profiles-manage")


@cache_control(max_age=86400, public=True)
def avatar(request: HttpRequest, name: str) -> HttpResponse:
    try:
        svg = avatars.builtin_svg(name)
    except ValidationFailed as exc:
        raise NotFound(exc.message) from None
    return HttpResponse(svg, content_type="image/svg+xml")
