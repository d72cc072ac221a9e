"""The gateway interface and the values crossing it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from streamsite.errors import DomainError


class GatewayUnavailable(DomainError):
    status = 503
    code = "gateway_unavailable"


@dataclass(frozen=True)
class CardDetails:
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    customer_id: str = ""


@dataclass(frozen=True)
class CardSetup:
    """A card collection the browser completes with the provider (a Stripe SetupIntent).

    client_secret goes to the page that collects the card, and nowhere else."""

    customer_id: str
    setup_intent_id: str
    client_secret: str


@dataclass(frozen=True)
class ChargeResult:
    status: str  # "succeeded" | "failed" | "pending"
    charge_id: str = ""
    failure_code: str = ""
    failure_message: str = ""


@dataclass(frozen=True)
class RefundResult:
    refund_id: str


@dataclass(frozen=True)
class GatewayEvent:
    """A verified webhook event, normalised.

    type is one of charge.succeeded, charge.failed, charge.refunded, or the gateway's own
    name for anything else (stored, then ignored).
    """

    event_id: str
    type: str
    created: datetime
    charge_id: str = ""
    amount: int | None = None  # of the charge the event is about, minor units
    currency: str = ""  # upper-case ISO code
    amount_refunded: int = 0
    raw: dict[str, Any] = field(default_factory=dict)


class Gateway(Protocol):
    name: str

    def tokenize_card(
        self, *, number: str, exp_month: int, exp_year: int, cvc: str
    ) -> CardDetails: ...

    def attach(self, *, token: str, email: str, customer_id: str) -> CardDetails: ...

    def charge(
        self,
        *,
        amount: int,
        currency: str,
        token: str,
        customer_id: str,
        idempotency_key: str,
        description: str,
    ) -> ChargeResult: ...

    def refund(self, *, charge_id: str, amount: int, idempotency_key: str) -> RefundResult: ...

    def detach(self, *, token: str) -> None:
        """Forget a stored card (the account is leaving); a card already gone is no error."""
        ...

    def parse_webhook(self, *, payload: bytes, signature: str, now: datetime) -> GatewayEvent: ...


@runtime_checkable
class CardSetupGateway(Protocol):
    """A gateway whose cards are collected in the browser by the provider (Stripe Elements).

    setup_begin prepares the collection for a customer (created when customer_id is empty);
    setup_verify asks the provider whether that collection succeeded for that customer with
    that payment method, and returns the card to store."""

    name: str

    def setup_begin(self, *, customer_id: str, email: str, account_ref: str) -> CardSetup: ...

    def setup_verify(
        self, *, setup_intent_id: str, payment_method_id: str, customer_id: str
    ) -> CardDetails: ...
