"""Billing's part of an account's data: what its export holds and how leaving closes it.

Named in ACCOUNTS_EXPORT_PROVIDERS (the export's "billing" key) and ACCOUNTS_ERASE_PROVIDERS
(run before the account row is deleted); accounts never imports billing.
"""

from __future__ import annotations

from typing import Any

from accounts.models import User
from billing import services
from billing.models import CreditNote, Invoice, Payment, PaymentMethod, Subscription


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def export(account: User) -> dict[str, Any]:
    """Subscription, cards (brand and last four only), invoices with lines, payments, credit
    notes and the credit balance; amounts in minor units with their currency."""
    sub = (
        Subscription.objects.select_related("plan", "pending_plan").filter(account=account).first()
    )
    invoices = Invoice.objects.filter(account=account).prefetch_related("lines").order_by("pk")
    ledger = getattr(account, "billing", None)
    return {
        "subscription": None
        if sub is None
        else {
            "plan": sub.plan.code,
            "pending_plan": sub.pending_plan.code if sub.pending_plan else None,
            "status": sub.status,
            "currency": sub.currency,
            "current_period_start": _iso(sub.current_period_start),
            "current_period_end": _iso(sub.current_period_end),
            "trial_end": _iso(sub.trial_end),
            "cancel_at_period_end": sub.cancel_at_period_end,
            "canceled_at": _iso(sub.canceled_at),
            "created_at": _iso(sub.created_at),
        },
        "cards": [
            {
                "brand": m.brand,
                "last4": m.last4,
                "exp_month": m.exp_month,
                "exp_year": m.exp_year,
                "added_at": _iso(m.created_at),
            }
            for m in PaymentMethod.objects.filter(account=account).order_by("pk")
        ],
        "invoices": [
            {
                "number": i.number,
                "kind": i.kind,
                "status": i.status,
                "currency": i.currency,
                "total": i.total,
                "amount_paid": i.amount_paid,
                "amount_credited": i.amount_credited,
                "period_start": _iso(i.period_start),
                "period_end": _iso(i.period_end),
                "created_at": _iso(i.created_at),
                "paid_at": _iso(i.paid_at),
                "lines": [
                    {"kind": line.kind, "description": line.description, "amount": line.amount}
                    for line in i.lines.all()
                ],
            }
            for i in invoices
        ],
        "payments": [
            {
                "invoice": p.invoice.number,
                "attempt": p.attempt,
                "amount": p.amount,
                "currency": p.currency,
                "status": p.status,
                "failure_code": p.failure_code,
                "amount_refunded": p.amount_refunded,
                "created_at": _iso(p.created_at),
            }
            for p in Payment.objects.filter(account=account)
            .select_related("invoice")
            .order_by("pk")
        ],
        "credit_notes": [
            {
                "number": n.number,
                "invoice": n.invoice.number,
                "amount": n.amount,
                "currency": n.currency,
                "status": n.status,
                "reason": n.reason,
                "created_at": _iso(n.created_at),
            }
            for n in CreditNote.objects.filter(invoice__account=account)
            .select_related("invoice")
            .order_by("pk")
        ],
        "credit_balance": ledger.credit_balance if ledger else 0,
    }


def erase(account: User) -> None:
    services.account_close(account=account)
