"""Staff screens: plans, coupons, subscriptions, invoices (refunds), credits, revenue view."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from billing import clock, money, selectors, services
from billing.charts import bar_chart
from billing.models import (
    BalanceTransaction,
    BillingAccount,
    Coupon,
    CreditNote,
    Invoice,
    InvoiceLine,
    Payment,
    Plan,
    Price,
    Subscription,
    SubscriptionEvent,
    WebhookEvent,
)
from streamsite import errors, roles
from streamsite.errors import DomainError


def _staff(request: HttpRequest) -> User:
    """The staff member acting (admin views require a signed-in staff account)."""
    assert isinstance(request.user, User)
    return request.user


class PriceInline(admin.TabularInline):
    model = Price
    extra = 0


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "max_streams",
        "max_resolution",
        "max_profiles",
        "is_active",
    ]
    list_editable = ["is_active"]
    inlines = [PriceInline]


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "percent_off",
        "amount_off",
        "currency",
        "duration",
        "duration_periods",
        "times_redeemed",
        "is_active",
    ]


class EventInline(admin.TabularInline):
    model = SubscriptionEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "kind", "from_status", "to_status", "data", "actor"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "plan",
        "status",
        "currency",
        "current_period_end",
        "cancel_at_period_end",
    ]
    list_filter = ["status", "plan"]
    search_fields = ["account__email"]
    list_select_related = ["account", "plan"]
    readonly_fields = [f.name for f in Subscription._meta.fields]
    inlines = [EventInline]
    actions = ["cancel_at_period_end"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if not roles.can_see_card_details(request.user):  # Support: no card data
            fields.remove("payment_method")
        return fields

    @admin.action(description=gettext_lazy("Cancel at period end"), permissions=["change"])
    def cancel_at_period_end(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for sub in queryset.select_related("account"):
            try:
                services.subscription_cancel(account=sub.account, actor=f"staff:{request.user.pk}")
            except DomainError as exc:
                self.message_user(request, f"{sub.account}: {exc.message}", messages.WARNING)

    def get_urls(self) -> list:
        return [
            path("revenue/", self.admin_site.admin_view(self.revenue_view), name="billing_revenue"),
            *super().get_urls(),
        ]

    def revenue_view(self, request: HttpRequest) -> HttpResponse:
        if not roles.can_view_revenue(request.user):
            raise PermissionDenied
        data = selectors.revenue(clock.now())
        charts = [
            bar_chart(data.subscribers_by_plan, label=_("Live subscribers by plan")),
        ]
        currencies = sorted({c for _month, per in data.monthly_paid for c in per} | set(data.mrr))
        for currency in currencies:
            bars = [(month[2:], per.get(currency, 0)) for month, per in data.monthly_paid]
            charts.append(
                bar_chart(
                    bars,
                    label=_("Revenue collected per month (%(currency)s)") % {"currency": currency},
                    value_format=lambda v, c=currency: money.to_decimal_string(v, c),
                )
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Revenue"),
            "mrr": [(c, money.format_money(v, c)) for c, v in sorted(data.mrr.items())],
            "by_plan": data.subscribers_by_plan,
            "churn_percent": f"{data.churn_30d * 100:.1f}",
            "ended_30d": data.ended_30d,
            "charts": charts,
        }
        return TemplateResponse(request, "admin/billing/revenue.html", context)


class LineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    readonly_fields = ["position", "kind", "description", "amount"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CreditNoteInline(admin.TabularInline):
    model = CreditNote
    extra = 0
    can_delete = False
    fields = (
        "number",
        "status",
        "amount",
        "currency",
        "reason",
        "gateway_refund_id",
        "created_by",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        required=False, min_value=0, help_text="Leave empty to refund everything refundable."
    )
    reason = forms.CharField(max_length=255)
    # Made when the form is shown: resubmitting the same form (after a timeout or a crash)
    # finishes the same refund instead of refunding twice.
    request_key = forms.CharField(
        max_length=32, widget=forms.HiddenInput, validators=[RegexValidator(r"^[0-9a-f]{32}$")]
    )


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number", "account", "kind", "status", "display_total", "created_at"]
    list_filter = ["status", "kind", "currency"]
    search_fields = ["number", "account__email"]
    list_select_related = ["account"]
    readonly_fields = [f.name for f in Invoice._meta.fields]
    inlines = [LineInline, CreditNoteInline]
    actions = ["refund_in_full"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Invoice, form: Any, change: bool) -> None:
        """Every field is read-only: invoices never change after finalisation."""

    @admin.display(description="Total")
    def display_total(self, obj: Invoice) -> str:
        return money.format_money(obj.total, obj.currency)

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return roles.can_refund(request.user)

    def _may_refund(self, request: HttpRequest, invoice: Invoice, amount: int | None) -> bool:
        """The role's limit applies to what the refund returns (all that is left when None)."""
        if amount is None:
            amount = invoice.amount_paid - invoice.amount_credited
        limit = money.staff_refund_limit(invoice.currency)
        return roles.can_refund(request.user, amount=amount, limit=limit)

    @admin.action(description=gettext_lazy("Refund in full"), permissions=["refund"])
    def refund_in_full(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        for invoice in queryset:
            if not self._may_refund(request, invoice, None):
                self.message_user(
                    request,
                    _("%(number)s: over your refund limit.") % {"number": invoice.number},
                    messages.ERROR,
                )
                continue
            try:
                note = services.invoice_refund(
                    invoice_id=invoice.pk,
                    amount=None,
                    reason="Refund by staff",
                    request_key="full",
                    actor=_staff(request),
                )
                self.message_user(
                    request,
                    _("%(number)s: credit note %(note)s.")
                    % {"number": invoice.number, "note": note.number},
                )
            except DomainError as exc:
                self.message_user(request, f"{invoice.number}: {exc.message}", messages.ERROR)

    def get_urls(self) -> list:
        return [
            path(
                "<int:invoice_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="billing_invoice_refund",
            ),
            *super().get_urls(),
        ]

    def refund_view(self, request: HttpRequest, invoice_id: int) -> HttpResponse:
        if not roles.can_refund(request.user):
            raise PermissionDenied
        invoice = get_object_or_404(Invoice, pk=invoice_id)
        form = RefundForm(request.POST or None, initial={"request_key": secrets.token_hex(16)})
        status = 200
        if request.method == "POST" and form.is_valid():
            raw = form.cleaned_data["amount"]
            try:
                amount = None if raw is None else money.from_decimal(raw, invoice.currency)
                if not self._may_refund(request, invoice, amount):
                    limit = money.staff_refund_limit(invoice.currency)
                    raise errors.PermissionDenied(
                        _("Your role refunds at most %(limit)s.")
                        % {"limit": money.format_money(limit, invoice.currency)}
                    )
                note = services.invoice_refund(
                    invoice_id=invoice.pk,
                    amount=amount,
                    reason=form.cleaned_data["reason"],
                    request_key=form.cleaned_data["request_key"],
                    actor=_staff(request),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                self.message_user(
                    request, _("Refunded: credit note %(note)s.") % {"note": note.number}
                )
                return HttpResponseRedirect(
                    reverse("admin:billing_invoice_change", args=[invoice.pk])
                )
        elif request.method == "POST":
            status = 400
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refund %(number)s") % {"number": invoice.number},
            "form": form,
            "invoice": invoice,
            "refundable": money.format_money(
                invoice.amount_paid - invoice.amount_credited, invoice.currency
            ),
        }
        return TemplateResponse(request, "admin/billing/refund.html", context, status=status)


class CreditForm(forms.Form):
    amount = forms.DecimalField(min_value=0, help_text="In the account's currency, e.g. 5.00")
    note = forms.CharField(max_length=255)


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = ["account", "currency", "display_balance", "gateway_customer_id"]
    search_fields = ["account__email"]
    list_select_related = ["account"]
    readonly_fields = ["account", "credit_balance", "gateway_customer_id"]

    @admin.display(description="Credit balance")
    def display_balance(self, obj: BillingAccount) -> str:
        return money.format_money(obj.credit_balance, obj.currency)

    def get_urls(self) -> list:
        return [
            path(
                "<int:pk>/credit/",
                self.admin_site.admin_view(self.credit_view),
                name="billing_billingaccount_credit",
            ),
            *super().get_urls(),
        ]

    def credit_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not roles.can_grant_credit(request.user):
            raise PermissionDenied
        ledger = get_object_or_404(BillingAccount.objects.select_related("account"), pk=pk)
        form = CreditForm(request.POST or None)
        status = 200
        if request.method == "POST" and form.is_valid():
            try:
                amount = money.from_decimal(form.cleaned_data["amount"], ledger.currency)
                services.account_credit(
                    account=ledger.account,
                    amount=amount,
                    note=form.cleaned_data["note"],
                    actor=_staff(request),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                self.message_user(request, _("Credit granted."))
                return HttpResponseRedirect(
                    reverse("admin:billing_billingaccount_change", args=[ledger.pk])
                )
        elif request.method == "POST":
            status = 400
        context = {
            **self.admin_site.each_context(request),
            "title": _("Credit %(account)s") % {"account": ledger.account},
            "form": form,
            "ledger": ledger,
        }
        return TemplateResponse(request, "admin/billing/credit.html", context, status=status)


@admin.register(BalanceTransaction)
class BalanceTransactionAdmin(admin.ModelAdmin):
    list_display = ["account", "kind", "amount", "currency", "invoice", "created_at"]
    list_select_related = ["account", "invoice"]
    readonly_fields = [f.name for f in BalanceTransaction._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = [
        "idempotency_key",
        "account",
        "status",
        "amount",
        "currency",
        "failure_code",
        "created_at",
    ]
    list_filter = ["status", "gateway"]
    list_select_related = ["account"]
    readonly_fields = [f.name for f in Payment._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "gateway", "type", "status", "delivery_count", "received_at"]
    list_filter = ["status", "gateway", "type"]
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
