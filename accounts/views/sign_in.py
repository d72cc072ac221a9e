"""Sign-up, address verification, sign-in (with its two-factor step and unlock links),
sign-out and password resets."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import forms, selectors, services
from accounts.models import User
from accounts.views._common import form_status, safe_next
from streamsite.client_address import client_address
from streamsite.errors import DomainError, RateLimited, Unauthenticated, ValidationFailed

PENDING_2FA = "accounts_pending_2fa"
PENDING_NEXT = "accounts_pending_next"


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


def signup(request: HttpRequest) -> HttpResponse:
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.signup(**form.cleaned_data, language=get_language())
        except ValidationFailed as exc:
            form.add_service_error(exc)
        else:
            return redirect("accounts:signup-done")
    return render(request, "accounts/signup.html", {"form": form}, status=form_status(form))


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


def login(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, settings.LOGIN_REDIRECT_URL)
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
    return render(request, "accounts/password_reset.html", {"form": form}, status=form_status(form))


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
    return render(request, "accounts/password_set.html", {"form": form}, status=form_status(form))
