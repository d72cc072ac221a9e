"""Payment gateways behind one interface; `get_gateway()` returns the configured one.

BILLING_GATEWAY=sandbox (default) or stripe. Gateways only ever see tokens, never store card
numbers, and every charge and refund carries an idempotency key.
"""

from __future__ import annotations

from django.conf import settings

from billing.gateways.base import (
    CardDetails,
    CardSetup,
    CardSetupGateway,
    ChargeResult,
    Gateway,
    GatewayEvent,
    GatewayUnavailable,
    RefundResult,
)

__all__ = [
    "CardDetails",
    "CardSetup",
    "CardSetupGateway",
    "ChargeResult",
    "Gateway",
    "GatewayEvent",
    "GatewayUnavailable",
    "RefundResult",
    "get_gateway",
]


def get_gateway(name: str | None = None) -> Gateway:
    name = name or settings.BILLING_GATEWAY
    if name == "sandbox":
        from billing.gateways.sandbox import SandboxGateway

        return SandboxGateway()
    if name == "stripe":
        from billing.gateways.stripe_gateway import StripeGateway

        return StripeGateway()
    raise ValueError(f"unknown gateway {name!r}")
