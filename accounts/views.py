"""Browser pages: sign-up, sign-in, profiles and the account settings. Thin over services."""

from __future__ import annotations

import json
from typing import Any

import pyotp
import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language, ngettext, override
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from accounts import avatars, forms, selectors, services
from accounts.models import Profile, TotpDevice, User
from accounts.permissions import ensure_not_kids
from streamsite.client_address import client_address
from streamsite.errors import (
    DomainError,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)

PENDING_2FA = "accounts_pending_2fa"
PENDING_NEXT = "accounts_pending_next"


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _keep_signed_in(request: HttpRequest, user: User) -> None:
    """After a password change or sign-out-others: keep this session (its key rotates)."""
    old_key = request.session.session_key
    update_session_auth_hash(request, user)
    if old_key and request.session.session_key:
        services.session_rekey(old_key=old_key, new_key=request.session.session_key)


KNOWN_DEVICE_COOKIE = "ss_known_device"


def _remember_device(response: HttpResponse, user: User) -> HttpResponse:
    # Lets this browser's right password past the per-account ceiling (services.login_check).
    response.set_cookie(
        KNOWN_DEVICE_COOKIE,
        services.known_device_cookie(user=user),
        max_age=365 * 24 * 3600,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _login(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    # django.contrib.auth.login rotates the session key (no fixation) and the CSRF token.
    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return _remember_device(redirect(next_url), user)


# --- Sign-up and verification ---------------------------------------------------------------


def signup(request: HttpRequest) -> HttpResponse:
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.signup(**form.cleaned_data, language=get_language())
        except ValidationFailed as exc:
            form.add_service_error(exc)
        else:
            return redirect("accounts:signup-done")
    return render(request, "accounts/signup.html", {"form": form}, status=_status(form))


def _status(form: forms.Form) -> int:
    return 400 if form.is_bound and form.errors else 200


def signup_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signup_done.html")


def verify(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user = services.email_verify(token=token)
    except ValidationFailed as exc:
        return render(request, "accounts/verify_failed.html", {"message": exc.message}, status=400)
    messages.success(request, _("Thanks: %(email)s is confirmed.") % {"email": user.email})
    next_url = settings.ACCOUNTS_SIGNUP_NEXT_URL
    if request.user.is_authenticated and request.user.pk == user.pk:
        return redirect(next_url)
    return redirect(f"{reverse('accounts:login')}?{urlencode({'next': next_url})}")


# --- Sign-in and sign-out -------------------------------------------------------------------


def login(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, settings.LOGIN_REDIRECT_URL)
    form = forms.LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = services.login_check(
                request=request,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                ip=client_address(request),
                known_device_user_id=services.known_device_user_id(
                    request.COOKIES.get(KNOWN_DEVICE_COOKIE)
                ),
            )
        except RateLimited as exc:
            form.add_error(None, exc.message)
            status = 429
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = 400 if isinstance(exc, ValidationFailed | Unauthenticated) else 403
        else:
            if selectors.two_factor_enabled(user):
                request.session[PENDING_2FA] = user.pk
                request.session[PENDING_NEXT] = next_url
                return redirect("accounts:login-2fa")
            return _login(request, user, next_url)
    elif form.is_bound:
        status = 400
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=status)


def login_unlock(request: HttpRequest, token: str) -> HttpResponse:
    """An emailed unlock link: this browser becomes known and its address may sign in."""
    try:
        user = services.login_unlock(token=token)
    except ValidationFailed as exc:
        return render(request, "accounts/verify_failed.html", {"message": exc.message}, status=400)
    messages.success(request, _("This device is confirmed. Sign in again."))
    return _remember_device(redirect("accounts:login"), user)


def login_2fa(request: HttpRequest) -> HttpResponse:
    user_id = request.session.get(PENDING_2FA)
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None:
        return redirect("accounts:login")
    form = forms.CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.totp_verify(user=user, code=form.cleaned_data["code"])
        except ValidationFailed as exc:
            form.add_service_error(exc)
            status = 400
        except RateLimited as exc:
            form.add_error(None, exc.message)
            status = 429
        else:
            next_url = request.session.get(PENDING_NEXT) or settings.LOGIN_REDIRECT_URL
            return _login(request, user, next_url)
    return render(request, "accounts/login_2fa.html", {"form": form}, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    messages.info(request, _("You are signed out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


def password_reset(request: HttpRequest) -> HttpResponse:
    form = forms.EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_reset_request(email=form.cleaned_data["email"])
        return redirect("accounts:password-reset-done")
    return render(request, "accounts/password_reset.html", {"form": form}, status=_status(form))


def password_reset_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_reset_done.html")


def password_reset_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    try:
        services.password_reset_user(uidb64=uidb64, token=token)
    except ValidationFailed as exc:
        return render(request, "accounts/verify_failed.html", {"message": exc.message}, status=400)
    form = forms.SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_confirm(
                uidb64=uidb64, token=token, new_password=form.cleaned_data["password"]
            )
        except ValidationFailed as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Your password is changed. Sign in with it."))
            return redirect("accounts:login")
    return render(request, "accounts/password_set.html", {"form": form}, status=_status(form))


# --- Profiles -------------------------------------------------------------------------------


def _own_profile(request: HttpRequest, profile_id: int) -> Profile:
    profile = selectors.profiles_for(_user(request)).filter(pk=profile_id).first()
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
    profiles = list(selectors.profiles_for(_user(request)))
    return render(
        request,
        "accounts/picker.html",
        {
            "profiles": profiles,
            "current": current,
            "next": _safe_next(request, ""),
            "can_manage": current is None or not current.is_kids,
        },
    )


@login_required
def profile_switch(request: HttpRequest, profile_id: int) -> HttpResponse:
    profile = _own_profile(request, profile_id)
    next_url = _safe_next(request, settings.ACCOUNTS_PROFILE_NEXT_URL)
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
    account = _user(request)
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
                account=_user(request),
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


# --- Account settings -----------------------------------------------------------------------


@login_required
def account(request: HttpRequest) -> HttpResponse:
    ensure_not_kids(request)
    user = _user(request)
    password_form = forms.PasswordChangeForm(
        request.POST if request.POST.get("action") == "password" else None
    )
    email_form = forms.EmailChangeForm(
        request.POST if request.POST.get("action") == "email" else None
    )
    status = 200
    if request.method == "POST" and password_form.is_bound and password_form.is_valid():
        try:
            services.password_change(
                user=user,
                keep_session_key=request.session.session_key,
                **password_form.cleaned_data,
            )
        except ValidationFailed as exc:
            password_form.add_service_error(exc)
        else:
            _keep_signed_in(request, user)
            kept = password_form.cleaned_data["keep_api_tokens"]
            messages.success(
                request,
                _("Password changed. Other devices are signed out.")
                if kept
                else _(
                    "Password changed. Other devices are signed out and your API tokens are "
                    "revoked."
                ),
            )
            return redirect("accounts:account")
    if request.method == "POST" and email_form.is_bound and email_form.is_valid():
        try:
            services.email_change_request(user=user, **email_form.cleaned_data)
        except ValidationFailed as exc:
            email_form.add_service_error(exc)
        else:
            messages.success(
                request,
                _("Follow the link we sent to the new address to finish the change."),
            )
            return redirect("accounts:account")
    if password_form.errors or email_form.errors:
        status = 400
    return render(
        request,
        "accounts/account.html",
        {
            "password_form": password_form,
            "email_form": email_form,
            "two_factor": selectors.two_factor_enabled(user),
            "section": "account",
        },
        status=status,
    )


@login_required
def security(request: HttpRequest) -> HttpResponse:
    ensure_not_kids(request)
    user = _user(request)
    enabled = selectors.two_factor_enabled(user)
    action = request.POST.get("action")
    code_form = forms.CodeForm(request.POST if action == "confirm" else None)
    disable_form = forms.PasswordOnlyForm(request.POST if action == "disable" else None)
    context: dict[str, Any] = {"section": "security", "enabled": enabled}
    status = 200
    if request.method == "POST" and action == "begin":
        services.totp_begin(user=user)
        return redirect("accounts:security")
    if request.method == "POST" and action == "confirm" and code_form.is_valid():
        try:
            codes = services.totp_confirm(user=user, code=code_form.cleaned_data["code"])
        except ValidationFailed as exc:
            code_form.add_service_error(exc)
            status = 400
        else:
            return render(
                request,
                "accounts/security.html",
                {**context, "enabled": True, "recovery_codes": codes},
            )
    if request.method == "POST" and action == "disable" and disable_form.is_valid():
        try:
            services.totp_disable(user=user, **disable_form.cleaned_data)
        except ValidationFailed as exc:
            disable_form.add_service_error(exc)
            status = 400
        else:
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("accounts:security")
    pending = None if enabled else TotpDevice.objects.filter(user=user).first()
    if pending is not None:
        uri = pyotp.TOTP(pending.secret).provisioning_uri(name=user.email, issuer_name="Streamsite")
        context["qr_svg"] = segno.make(uri, error="m").svg_inline(
            scale=5, dark="#000", light="#fff", omitsize=False
        )
        context["secret"] = pending.secret
    context.update({"code_form": code_form, "disable_form": disable_form, "pending": pending})
    return render(request, "accounts/security.html", context, status=status)


@login_required
def devices(request: HttpRequest) -> HttpResponse:
    ensure_not_kids(request)
    rows = list(selectors.sessions_for(_user(request)))
    return render(
        request,
        "accounts/devices.html",
        {"sessions": rows, "current_key": request.session.session_key, "section": "devices"},
    )


@login_required
@require_POST
def device_revoke(request: HttpRequest, session_id: int) -> HttpResponse:
    ensure_not_kids(request)
    services.session_revoke(user=_user(request), session_id=session_id)
    messages.success(request, _("That device is signed out."))
    return redirect("accounts:devices")


@login_required
@require_POST
def devices_revoke_all(request: HttpRequest) -> HttpResponse:
    ensure_not_kids(request)
    user = _user(request)
    count = services.sessions_revoke_all(user=user, keep_session_key=request.session.session_key)
    _keep_signed_in(request, user)
    messages.success(
        request,
        ngettext("Signed out %(count)d other device.", "Signed out %(count)d other devices.", count)
        % {"count": count},
    )
    return redirect("accounts:devices")


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    ensure_not_kids(request)
    user = _user(request)
    form = forms.TokenForm(request.POST or None)
    created = None
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            token, plaintext = services.api_token_create(user=user, **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_service_error(exc)
            status = 400
        else:
            created = {"token": token, "plaintext": plaintext}
            form = forms.TokenForm()
    elif form.is_bound:
        status = 400
    return render(
        request,
        "accounts/tokens.html",
        {
            "tokens": list(selectors.tokens_for(user)),
            "form": form,
            "created": created,
            "section": "tokens",
        },
        status=status,
    )


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    ensure_not_kids(request)
    token = services.api_token_revoke(user=_user(request), token_id=token_id)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("accounts:tokens")


@login_required
def export(request: HttpRequest) -> HttpResponse:
    ensure_not_kids(request)
    response = JsonResponse(
        selectors.account_export(_user(request)), json_dumps_params={"indent": 2}
    )
    response["Content-Disposition"] = 'attachment; filename="streamsite-export.json"'
    return response


@login_required
def delete_account(request: HttpRequest) -> HttpResponse:
    ensure_not_kids(request)
    form = forms.PasswordOnlyForm(request.POST or None)
    status = None
    if request.method == "POST" and form.is_valid():
        try:
            data = services.account_delete(user=_user(request), **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_service_error(exc)
        except DomainError as exc:  # billing refused for now (a payment in flight, gateway down)
            form.add_error(None, exc.message)
            status = exc.status
        else:
            auth_logout(request)
            return render(
                request,
                "accounts/deleted.html",
                {"export": json.dumps(data, indent=2)},
            )
    return render(
        request,
        "accounts/delete.html",
        {"form": form, "section": "delete"},
        status=status or _status(form),
    )
