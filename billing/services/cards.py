"""Cards: attaching a gateway token, Stripe's SetupIntent flow."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from accounts.models import User
from billing.gateways import (
    CardDetails,
    CardSetup,
    CardSetupGateway,
    get_gateway,
)
from billing.models import (
    BillingAccount,
    PaymentMethod,
    Subscription,
)
from billing.services._core import (
    _outside_transactions,
    billing_account,
)
from streamsite.errors import ValidationFailed


def payment_method_add(*, account: User, token: str) -> PaymentMethod:
    """Attach a gateway token to the account and make it the card the subscription uses.

    The gateway is asked first, outside any transaction (attaching the same card twice is
    harmless); the card is then recorded in one short transaction."""
    if not token:
        raise ValidationFailed(
            gettext("A card token is required."),
            extra={"fields": {"card_token": [gettext("Required.")]}},
        )
    _outside_transactions()
    ledger = billing_account(account)
    gateway = get_gateway()
    details = gateway.attach(
        token=token, email=account.email, customer_id=ledger.gateway_customer_id
    )
    with transaction.atomic():
        return _payment_method_record(account, ledger, gateway.name, details)


def _payment_method_record(
    account: User, ledger: BillingAccount, gateway_name: str, details: CardDetails
) -> PaymentMethod:
    if details.customer_id and details.customer_id != ledger.gateway_customer_id:
        BillingAccount.objects.filter(pk=ledger.pk).update(gateway_customer_id=details.customer_id)
    method, _ = PaymentMethod.objects.get_or_create(
        gateway=gateway_name,
        token=details.token,
        defaults={
            "account": account,
            "brand": details.brand,
            "last4": details.last4,
            "exp_month": details.exp_month,
            "exp_year": details.exp_year,
        },
    )
    if method.account_id != account.pk:
        raise ValidationFailed(
            gettext("Unknown card token."), extra={"fields": {"card_token": [gettext("Unknown.")]}}
        )
    Subscription.objects.filter(account=account).update(payment_method=method)
    return method


def _card_setup_gateway() -> CardSetupGateway:
    gateway = get_gateway()
    if not isinstance(gateway, CardSetupGateway):
        raise ValidationFailed(f"The {gateway.name} gateway takes cards without a card setup.")
    return gateway


def card_setup_begin(*, account: User) -> CardSetup:
    """Stripe: a SetupIntent for the account's customer (created on first use), which the
    browser confirms with the card; only its client secret goes to the page."""
    gateway = _card_setup_gateway()
    ledger = billing_account(account)
    setup = gateway.setup_begin(
        customer_id=ledger.gateway_customer_id, email=account.email, account_ref=str(account.pk)
    )
    if setup.customer_id != ledger.gateway_customer_id:
        BillingAccount.objects.filter(pk=ledger.pk, gateway_customer_id="").update(
            gateway_customer_id=setup.customer_id
        )
    return setup


def payment_method_from_setup(
    *, account: User, setup_intent_id: str, payment_method_id: str
) -> PaymentMethod:
    """Store the card a SetupIntent saved, once Stripe says it succeeded for this account's
    customer with exactly this payment method; anything else is a ValidationFailed."""
    gateway = _card_setup_gateway()
    _outside_transactions()
    ledger = billing_account(account)
    details = gateway.setup_verify(
        setup_intent_id=setup_intent_id,
        payment_method_id=payment_method_id,
        customer_id=ledger.gateway_customer_id,
    )
    with transaction.atomic():
        return _payment_method_record(account, ledger, gateway.name, details)
