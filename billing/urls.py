"""Browser pages of the billing app."""

from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("plans/", views.plans, name="plans"),
    path("plans/<slug:code>/checkout/", views.checkout, name="checkout"),
    path("account/billing/", views.account, name="account"),
    path("account/billing/change/", views.change_plan, name="change"),
    path("account/billing/cancel/", views.cancel, name="cancel"),
    path("account/billing/resume/", views.resume, name="resume"),
    path("account/billing/card/", views.update_card, name="card"),
    path("account/billing/invoices/<int:invoice_id>/", views.invoice, name="invoice"),
    path("account/billing/invoices/<int:invoice_id>/pay/", views.pay_invoice, name="pay"),
]
