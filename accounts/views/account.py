"""Account settings pages: the account, security (two-factor), devices, API tokens, the
export and deletion."""

from __future__ import annotations

import json
from typing import Any

import pyotp
import segno
from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts import forms, selectors, services
from accounts.models import TotpDevice
from accounts.permissions import ensure_not_kids
from accounts.views._common import current_user, form_status, keep_signed_in
from streamsite.errors import DomainError, ValidationFailed


@login_required
def account(request: HttpRequest) -> HttpResponse:
    ensure_not_kids(request)
    user = current_user(request)
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
            keep_signed_in(request, user)
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
    user = current_user(request)
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
    rows = list(selectors.sessions_for(current_user(request)))
    return render(
        request,
        "accounts/devices.html",
        {"sessions": rows, "current_key": request.session.session_key, "section": "devices"},
    )


@login_required
@require_POST
def device_revoke(request: HttpRequest, session_id: int) -> HttpResponse:
    ensure_not_kids(request)
    services.session_revoke(user=current_user(request), session_id=session_id)
    messages.success(request, _("That device is signed out."))
    return redirect("accounts:devices")


@login_required
@require_POST
def devices_revoke_all(request: HttpRequest) -> HttpResponse:
    ensure_not_kids(request)
    user = current_user(request)
    count = services.sessions_revoke_all(user=user, keep_session_key=request.session.session_key)
    keep_signed_in(request, user)
    messages.success(
        request,
        ngettext("Signed out %(count)d other device.", "Signed out %(count)d other devices.", count)
        % {"count": count},
    )
    return redirect("accounts:devices")


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    ensure_not_kids(request)
    user = current_user(request)
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
    token = services.api_token_revoke(user=current_user(request), token_id=token_id)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("accounts:tokens")


@login_required
def export(request: HttpRequest) -> HttpResponse:
    ensure_not_kids(request)
    response = JsonResponse(
        selectors.account_export(current_user(request)), json_dumps_params={"indent": 2}
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
            data = services.account_delete(user=current_user(request), **form.cleaned_data)
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
        status=status or form_status(form),
    )
