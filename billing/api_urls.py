"""REST API routes of the billing app (mounted under /api/v1/)."""

from django.urls import path

from billing import apis

urlpatterns = [
    path("billing/plans", apis.PlansApi.as_view(), name="billing-plans"),
    path("billing/entitlements", apis.EntitlementsApi.as_view(), name="billing-entitlements"),
    path("billing/subscription", apis.SubscriptionApi.as_view(), name="billing-subscription"),
    path("billing/subscription/preview", apis.PreviewApi.as_view(), name="billing-preview"),
    path("billing/subscription/change", apis.ChangePlanApi.as_view(), name="billing-change"),
    path("billing/subscription/cancel", apis.CancelApi.as_view(), name="billing-cancel"),
    path("billing/subscription/resume", apis.ResumeApi.as_view(), name="billing-resume"),
    path(
        "billing/payment-methods", apis.PaymentMethodApi.as_view(), name="billing-payment-methods"
    ),
    path("billing/sandbox/tokens", apis.SandboxTokenApi.as_view(), name="billing-sandbox-tokens"),
    path("billing/invoices", apis.InvoiceListApi.as_view(), name="billing-invoices"),
    path(
        "billing/invoices/<int:invoice_id>", apis.InvoiceDetailApi.as_view(), name="billing-invoice"
    ),
    path(
        "billing/invoices/<int:invoice_id>/pay",
        apis.InvoicePayApi.as_view(),
        name="billing-invoice-pay",
    ),
    path("billing/webhooks/<slug:gateway>", apis.WebhookApi.as_view(), name="billing-webhook"),
]
