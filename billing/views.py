"""Browser pages: plan picker, checkout, the account billing page, printable invoices.

Cards: with the sandbox gateway the page posts the card to our sandbox tokenizer; with Stripe
the page runs Stripe.js (a card Element confirming a SetupIntent) and posts only the resulting
SetupIntent and PaymentMethod ids, which the services verify with Stripe.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.models import User
from billing import selectors, services
from billing.entitlements import get_entitlements
from billing.gateways import get_gateway
from billing.models import PaymentMethod
from streamsite.errors import DomainError, ValidationFailed

CURRENCIES = ("USD", "EUR", "JPY")
# What Stripe.js needs (Stripe's CSP guide): its script, its frames (the card Element, and
# hooks.stripe.com for 3-D Secure) and its API. Added only to the pages that collect a card.
STRIPE_CSP = {
    "script-src": ("https://js.stripe.com", "https://*.js.stripe.com"),
    "frame-src": ("https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"),
    "connect-src": ("https://api.stripe.com",),
}


def _account(request: HttpRequest) -> User:
    """The signed-in account (these views are login_required)."""
    assert isinstance(request.user, User)
    return request.user


def stripe_policy(base: str) -> str:
    """The site's CSP with Stripe.js's sources added (frame-src starts from default-src)."""
    directives: dict[str, list[str]] = {}
    for part in base.split(";"):
        if part.strip():
            name, *sources = part.split()
            directives[name] = sources
    for name, extra in STRIPE_CSP.items():
        sources = directives.get(name) or list(directives.get("default-src", []))
        directives[name] = sources + [s for s in extra if s not in sources]
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


def stripe_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """With the Stripe gateway: allow Stripe.js in this page's CSP (the security-headers
    middleware keeps a policy a view has set) and keep the page, which carries a SetupIntent
    client secret, out of caches."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if settings.BILLING_GATEWAY == "stripe" and response.status_code != 302:
            response["Content-Security-Policy"] = stripe_policy(settings.ACCOUNTS_CSP)
            add_never_cache_headers(response)
        return response

    return wrapped


def _stripe_setup(request: HttpRequest, context: dict[str, Any]) -> None:
    """Put a fresh SetupIntent for the card form in the context, or say why there is none."""
    try:
        setup = services.card_setup_begin(account=_account(request))
    except DomainError as exc:
        context.setdefault("error", exc.message)
        context["stripe"] = None
        return
    context["stripe"] = {
        "publishable_key": settings.BILLING_STRIPE_PUBLISHABLE_KEY,
        "client_secret": setup.client_secret,
    }


def _currency(request: HttpRequest) -> str:
    value = (request.GET.get("currency") or request.POST.get("currency") or "").upper()
    return value if value in CURRENCIES else settings.BILLING_DEFAULT_CURRENCY


def plans(request: HttpRequest) -> HttpResponse:
    currency = _currency(request)
    plans = list(selectors.plans_available())
    rows = [{"plan": plan, "price": plan.price_for(currency)} for plan in plans]
    current = None
    if request.user.is_authenticated:
        current = selectors.subscription_for(_account(request))
    recommended = selectors.plan_recommended(plans=plans, current=current, currency=currency)
    return render(
        request,
        "billing/plans.html",
        {
            "rows": rows,
            "recommended": recommended,
            "welcome": request.GET.get("welcome") == "1" and current is None,
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
        raise ValidationFailed(_("Enter the card's expiry month and year.")) from None
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
@stripe_page
def checkout(request: HttpRequest, code: str) -> HttpResponse:
    currency = _currency(request)
    plan = selectors.plans_available().filter(code=code).first()
    if plan is None:
        raise Http404("No such plan.")
    existing = selectors.subscription_for(_account(request))
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
    stripe_on = settings.BILLING_GATEWAY == "stripe"
    status = 200
    if request.method == "POST":
        try:
            if stripe_on:  # only ids come from Stripe.js; card fields are never read
                token = request.POST.get("payment_method", "")
                setup_intent_id = request.POST.get("setup_intent", "")
                if token and not setup_intent_id:
                    raise ValidationFailed(
                        _("We could not confirm that card. Please enter it again.")
                    )
            else:
                token = _tokenize(request) if request.POST.get("number") else ""
                setup_intent_id = ""
            services.subscription_start(
                account=_account(request),
                plan_code=plan.code,
                currency=currency,
                card_token=token,
                setup_intent_id=setup_intent_id,
                coupon_code=request.POST.get("coupon", ""),
                trial=True,
            )
        except DomainError as exc:
            context["error"], status = exc.message, exc.status
            if not stripe_on:
                return render(request, "billing/checkout.html", context, status=status)
        else:
            messages.success(request, _("Welcome to %(plan)s!") % {"plan": plan.name})
            return redirect("billing:account")
    if stripe_on:
        _stripe_setup(request, context)
        if context["stripe"] is None and status == 200:
            status = 503
    return render(request, "billing/checkout.html", context, status=status)


@login_required
def account(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    sub = selectors.subscription_for(_account(request))
    preview = None
    preview_plan = request.GET.get("preview", "")
    if sub is not None and preview_plan and not error:
        try:
            preview = services.change_preview(account=_account(request), plan_code=preview_plan)
            preview["plan"] = preview_plan
        except DomainError as exc:
            error, status = exc.message, exc.status
    invoices = list(selectors.invoices_for(_account(request))[:24])
    plans = list(selectors.plans_available())
    return render(
        request,
        "billing/account.html",
        {
            "sub": sub,
            "entitlements": get_entitlements(_account(request)),
            "dunning": selectors.dunning_for(sub) if sub else None,
            "next_amount": selectors.upcoming_amount(sub) if sub else None,
            "plans": plans,
            "change_to": (
                selectors.plan_recommended(plans=plans, current=sub, currency=sub.currency)
                if sub is not None
                else None
            ),
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
            account=_account(request), plan_code=code, actor=f"account:{request.user.pk}"
        ),
        _("Your plan has been changed."),
    )


@require_POST
@login_required
def cancel(request: HttpRequest) -> HttpResponse:
    return _act(
        request,
        lambda: services.subscription_cancel(
            account=_account(request), actor=f"account:{request.user.pk}"
        ),
        _("Your subscription will end at the end of the period."),
    )


@require_POST
@login_required
def resume(request: HttpRequest) -> HttpResponse:
    return _act(
        request,
        lambda: services.subscription_resume(account=_account(request)),
        _("Your subscription will continue."),
    )


def update_card(request: HttpRequest) -> HttpResponse:
    if settings.BILLING_GATEWAY == "stripe":
        return _stripe_card(request)
    return _sandbox_card(request)


@sensitive_post_parameters("number", "cvc")
@require_POST
@login_required
def _sandbox_card(request: HttpRequest) -> HttpResponse:
    def act() -> None:
        services.payment_method_add(account=_account(request), token=_tokenize(request))

    return _act(request, act, _("Your card has been updated."))


@login_required
@stripe_page
def _stripe_card(request: HttpRequest) -> HttpResponse:
    """The card page of the Stripe flow (the sandbox changes cards inline on the billing page)."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    context: dict[str, Any] = {"sub": selectors.subscription_for(_account(request))}
    status = 200
    if request.method == "POST":
        try:
            services.payment_method_from_setup(
                account=_account(request),
                setup_intent_id=request.POST.get("setup_intent", ""),
                payment_method_id=request.POST.get("payment_method", ""),
            )
        except DomainError as exc:
            context["error"], status = exc.message, exc.status
        else:
            messages.success(request, _("Your card has been updated."))
            return redirect("billing:account")
    _stripe_setup(request, context)
    if context["stripe"] is None and status == 200:
        status = 503
    return render(request, "billing/card.html", context, status=status)


@require_POST
@login_required
def pay_invoice(request: HttpRequest, invoice_id: int) -> HttpResponse:
    return _act(
        request,
        lambda: services.invoice_pay(account=_account(request), invoice_id=invoice_id),
        _("Thank you, the invoice is paid."),
    )


@login_required
def invoice(request: HttpRequest, invoice_id: int) -> HttpResponse:
    row = selectors.invoice_detail(_account(request), invoice_id)
    if row is None:
        raise Http404("No such invoice.")
    return render(request, "billing/invoice.html", {"invoice": row})
