"""The gateway interface and the values crossing it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

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
    payment_key: str = ""
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

    def parse_webhook(self, *, payload: bytes, signature: str, now: datetime) -> GatewayEvent: ...
