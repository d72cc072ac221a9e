"""Browser pages: plan picker, sandbox checkout, the account billing page, printable invoices."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from billing import selectors, services
from billing.entitlements import get_entitlements
from billing.gateways import get_gateway
from billing.models import PaymentMethod
from streamsite.errors import DomainError, ValidationFailed

CURRENCIES = ("USD", "EUR", "JPY")


def _currency(request: HttpRequest) -> str:
    value = (request.GET.get("currency") or request.POST.get("currency") or "").upper()
    return value if value in CURRENCIES else settings.BILLING_DEFAULT_CURRENCY


def plans(request: HttpRequest) -> HttpResponse:
    currency = _currency(request)
    rows = []
    for plan in selectors.plans_available():
        rows.append({"plan": plan, "price": plan.price_for(currency)})
    current = None
    if request.user.is_authenticated:
        current = selectors.subscription_for(request.user)
    return render(
        request,
        "billing/plans.html",
        {
            "rows": rows,
            "currency": currency,
            "currencies": CURRENCIES,
            "current": current,
            "trial_days": settings.BILLING_TRIAL_DAYS,
        },
    )


def _tokenize(request: HttpRequest) -> str:
    """Hand the posted card to the sandbox tokenizer; only the token comes back."""
    try:
        exp_month = int(request.POST.get("exp_month", ""))
        exp_year = int(request.POST.get("exp_year", ""))
    except ValueError:
        raise ValidationFailed("Enter the card's expiry month and year.") from None
    return (
        get_gateway("sandbox")
        .tokenize_card(
            number=request.POST.get("number", ""),
            exp_month=exp_month,
            exp_year=exp_year,
            cvc=request.POST.get("cvc", ""),
        )
        .token
    )


@sensitive_post_parameters("number", "cvc")
@login_required
def checkout(request: HttpRequest, code: str) -> HttpResponse:
    currency = _currency(request)
    plan = selectors.plans_available().filter(code=code).first()
    if plan is None:
        raise Http404("No such plan.")
    existing = selectors.subscription_for(request.user)
    context: dict[str, Any] = {
        "plan": plan,
        "price": plan.price_for(currency),
        "currency": currency,
        "currencies": CURRENCIES,
        "sandbox": settings.BILLING_GATEWAY == "sandbox",
        "trial": existing is None and settings.BILLING_TRIAL_DAYS > 0,
        "trial_days": settings.BILLING_TRIAL_DAYS,
        "saved_card": PaymentMethod.objects.filter(account_id=request.user.pk).first(),
    }
    if request.method == "POST":
        try:
            token = _tokenize(request) if request.POST.get("number") else ""
            services.subscription_start(
                account=request.user,
                plan_code=plan.code,
                currency=currency,
                card_token=token,
                coupon_code=request.POST.get("coupon", ""),
                trial=True,
            )
        except DomainError as exc:
            context["error"] = exc.message
            return render(request, "billing/checkout.html", context, status=exc.status)
        messages.success(request, f"Welcome to {plan.name}!")
        return redirect("billing:account")
    return render(request, "billing/checkout.html", context)


@login_required
def account(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    sub = selectors.subscription_for(request.user)
    preview = None
    preview_plan = request.GET.get("preview", "")
    if sub is not None and preview_plan and not error:
        try:
            preview = services.change_preview(account=request.user, plan_code=preview_plan)
            preview["plan"] = preview_plan
        except DomainError as exc:
            error, status = exc.message, exc.status
    invoices = list(selectors.invoices_for(request.user)[:24])
    return render(
        request,
        "billing/account.html",
        {
            "sub": sub,
            "entitlements": get_entitlements(request.user),
            "next_amount": selectors.upcoming_amount(sub) if sub else None,
            "plans": list(selectors.plans_available()),
            "preview": preview,
            "invoices": invoices,
            "error": error,
            "sandbox": settings.BILLING_GATEWAY == "sandbox",
        },
        status=status,
    )


def _act(request: HttpRequest, action: Any, done: str) -> HttpResponse:
    try:
        action()
    except DomainError as exc:
        return account(request, error=exc.message, status=exc.status)
    messages.success(request, done)
    return redirect("billing:account")


@require_POST
@login_required
def change_plan(request: HttpRequest) -> HttpResponse:
    code = request.POST.get("plan", "")
    return _act(
        request,
        lambda: services.subscription_change_plan(
            account=request.user, plan_code=code, actor=f"account:{request.user.pk}"
        ),
        "Your plan has been changed.",
    )


@require_POST
@login_required
def cancel(request: HttpRequest) -> HttpResponse:
    return _act(
        request,
        lambda: services.subscription_cancel(
            account=request.user, actor=f"account:{request.user.pk}"
        ),
        "Your subscription will end at the end of the period.",
    )


@require_POST
@login_required
def resume(request: HttpRequest) -> HttpResponse:
    return _act(
        request,
        lambda: services.subscription_resume(account=request.user),
        "Your subscription will continue.",
    )


@sensitive_post_parameters("number", "cvc")
@require_POST
@login_required
def update_card(request: HttpRequest) -> HttpResponse:
    def act() -> None:
        services.payment_method_add(account=request.user, token=_tokenize(request))

    return _act(request, act, "Your card has been updated.")


@require_POST
@login_required
def pay_invoice(request: HttpRequest, invoice_id: int) -> HttpResponse:
    return _act(
        request,
        lambda: services.invoice_pay(account=request.user, invoice_id=invoice_id),
        "Thank you, the invoice is paid.",
    )


@login_required
def invoice(request: HttpRequest, invoice_id: int) -> HttpResponse:
    row = selectors.invoice_detail(request.user, invoice_id)
    if row is None:
        raise Http404("No such invoice.")
    return render(request, "billing/invoice.html", {"invoice": row})
