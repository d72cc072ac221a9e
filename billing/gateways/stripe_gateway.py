"""The Stripe gateway on the official `stripe` library (BILLING_GATEWAY=stripe).

Cards are collected by Stripe (Elements / Checkout) in the browser; we receive a PaymentMethod
id (`pm_...`). In our own pages that is a SetupIntent (setup_begin) confirmed by Stripe.js and
checked here (setup_verify) before the card is stored. Every charge is a PaymentIntent confirmed
off-session with our idempotency key.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import stripe
from django.conf import settings
from django.utils.translation import gettext, gettext_noop

from billing.gateways import signing
from billing.gateways.base import (
    CardDetails,
    CardSetup,
    ChargeResult,
    GatewayEvent,
    GatewayUnavailable,
    RefundResult,
)
from streamsite.errors import ValidationFailed

STATUS_MAP = {"succeeded": "succeeded", "processing": "pending"}
EVENT_MAP = {
    "payment_intent.succeeded": "charge.succeeded",
    "payment_intent.payment_failed": "charge.failed",
    "charge.refunded": "charge.refunded",
}
SETUP_INTENT_ID = re.compile(r"seti_\w{1,96}", re.ASCII)
PAYMENT_METHOD_ID = re.compile(r"pm_\w{1,96}", re.ASCII)
SETUP_REFUSED = gettext_noop("We could not confirm that card. Please enter it again.")


class StripeGateway:
    name = "stripe"

    def __init__(self) -> None:
        self.client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses={"api": settings.STRIPE_API_BASE},
            max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        )

    def tokenize_card(self, *, number: str, exp_month: int, exp_year: int, cvc: str) -> CardDetails:
        raise ValidationFailed(
            gettext("With Stripe, card details are collected by Stripe Elements.")
        )

    def attach(self, *, token: str, email: str, customer_id: str) -> CardDetails:
        try:
            if not customer_id:
                customer = self.client.v1.customers.create(params={"email": email})
                customer_id = customer.id
            method = self.client.v1.payment_methods.attach(token, params={"customer": customer_id})
        except stripe.InvalidRequestError as exc:
            raise ValidationFailed(exc.user_message or "That card was not accepted.") from None
        except stripe.StripeError as exc:
            raise GatewayUnavailable(f"Stripe is unavailable: {type(exc).__name__}") from None
        card: Any = method.card
        return CardDetails(
            method.id, card.brand, card.last4, card.exp_month, card.exp_year, customer_id
        )

    def setup_begin(self, *, customer_id: str, email: str, account_ref: str) -> CardSetup:
        try:
            if not customer_id:
                # Keyed by account: a retry (or a second tab) gets the same customer back.
                customer = self.client.v1.customers.create(
                    params={"email": email, "metadata": {"account": account_ref}},
                    options={"idempotency_key": f"customer_account_{account_ref}"},
                )
                customer_id = customer.id
            params: stripe.params.SetupIntentCreateParams = {
                "customer": customer_id,
                "usage": "off_session",
                "allowed_payment_method_types": ["card"],
                "metadata": {"account": account_ref},
            }
            intent = self.client.v1.setup_intents.create(params=params)
        except stripe.StripeError as exc:
            raise GatewayUnavailable(f"Stripe is unavailable: {type(exc).__name__}") from None
        return CardSetup(customer_id, intent.id, intent.client_secret or "")

    def setup_verify(
        self, *, setup_intent_id: str, payment_method_id: str, customer_id: str
    ) -> CardDetails:
        if not (
            customer_id
            and SETUP_INTENT_ID.fullmatch(setup_intent_id)
            and PAYMENT_METHOD_ID.fullmatch(payment_method_id)
        ):
            raise ValidationFailed(gettext(SETUP_REFUSED), code="card_setup_refused")
        try:
            intent = self.client.v1.setup_intents.retrieve(
                setup_intent_id, params={"expand": ["payment_method"]}
            )
        except stripe.InvalidRequestError:
            raise ValidationFailed(gettext(SETUP_REFUSED), code="card_setup_refused") from None
        except stripe.StripeError as exc:
            raise GatewayUnavailable(f"Stripe is unavailable: {type(exc).__name__}") from None
        # Another customer's intent, or a payment method it did not produce: refused alike.
        if intent.customer != customer_id:
            raise ValidationFailed(gettext(SETUP_REFUSED), code="card_setup_refused")
        if intent.status != "succeeded":
            raise ValidationFailed(
                gettext("Your card has not been confirmed yet. Please enter it again."),
                code="card_setup_incomplete",
            )
        method: Any = intent.payment_method
        if method is None or isinstance(method, str) or method.id != payment_method_id:
            raise ValidationFailed(gettext(SETUP_REFUSED), code="card_setup_refused")
        card: Any = method.card
        return CardDetails(
            method.id, card.brand, card.last4, card.exp_month, card.exp_year, customer_id
        )

    def charge(
        self,
        *,
        amount: int,
        currency: str,
        token: str,
        customer_id: str,
        idempotency_key: str,
        description: str,
    ) -> ChargeResult:
        try:
            intent = self.client.v1.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": currency.lower(),
                    "customer": customer_id,
                    "payment_method": token,
                    # A saved card charged off-session: card only, so the confirmation needs no
                    # return_url (redirect-based methods are what would need one).
                    "allowed_payment_method_types": ["card"],
                    "off_session": True,
                    "confirm": True,
                    "description": description,
                    "metadata": {"payment_key": idempotency_key},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as exc:
            error: Any = exc.error
            code = (error.decline_code if error else None) or exc.code or "card_declined"
            intent_id = error.payment_intent.id if error and error.payment_intent else ""
            return ChargeResult("failed", intent_id, code, exc.user_message or "Card declined.")
        except stripe.StripeError as exc:
            raise GatewayUnavailable(f"Stripe is unavailable: {type(exc).__name__}") from None
        status = STATUS_MAP.get(intent.status, "failed")
        failure = "" if status != "failed" else intent.status
        return ChargeResult(status, intent.id, failure, "" if not failure else "Payment failed.")

    def refund(self, *, charge_id: str, amount: int, idempotency_key: str) -> RefundResult:
        try:
            refund = self.client.v1.refunds.create(
                params={"payment_intent": charge_id, "amount": amount},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.InvalidRequestError as exc:
            raise ValidationFailed(exc.user_message or "Stripe refused the refund.") from None
        except stripe.StripeError as exc:
            raise GatewayUnavailable(f"Stripe is unavailable: {type(exc).__name__}") from None
        return RefundResult(refund.id)

    def detach(self, *, token: str) -> None:
        try:
            self.client.v1.payment_methods.detach(token)
        except stripe.InvalidRequestError:
            return  # already detached, or never attached: nothing to forget
        except stripe.StripeError as exc:
            raise GatewayUnavailable(f"Stripe is unavailable: {type(exc).__name__}") from None

    def parse_webhook(self, *, payload: bytes, signature: str, now: datetime) -> GatewayEvent:
        # Signature and timestamp tolerance are checked by the library (against real time).
        try:
            event = stripe.Webhook.construct_event(
                payload,
                signature,
                settings.STRIPE_WEBHOOK_SECRET,
                tolerance=settings.BILLING_WEBHOOK_TOLERANCE,
            )
        except stripe.SignatureVerificationError:
            raise ValidationFailed(
                gettext("Signature does not match."), code="bad_signature"
            ) from None
        except (ValueError, OverflowError):
            raise ValidationFailed(gettext("Malformed event body."), code="bad_event") from None
        try:
            created = signing.event_time(event.created)
            obj: dict[str, Any] = event.data.object.to_dict()
        except (ValueError, AttributeError, TypeError):
            raise ValidationFailed(gettext("Malformed event body."), code="bad_event") from None
        kind = EVENT_MAP.get(event.type, event.type)
        if event.type == "charge.refunded":
            charge_id, refunded = (
                obj.get("payment_intent") or "",
                int(obj.get("amount_refunded", 0)),
            )
        else:
            charge_id, refunded = obj.get("id") or "", 0
        amount = obj.get("amount")
        return GatewayEvent(
            event_id=event.id,
            type=kind,
            created=created,
            charge_id=str(charge_id),
            amount=amount if isinstance(amount, int) else None,
            currency=str(obj.get("currency") or "").upper(),
            amount_refunded=refunded,
            raw=event.to_dict(),
        )
