"""The built-in sandbox gateway: a pretend payment provider living in our own database.

Test cards (any future expiry, any 3-digit CVC):

| Number               | Behaviour                                                  |
| -------------------- | ---------------------------------------------------------- |
| 4242 4242 4242 4242  | every charge succeeds (Visa)                               |
| 5555 5555 5555 4444  | every charge succeeds (Mastercard)                         |
| 4000 0000 0000 0002  | every charge is declined (`card_declined`)                 |
| 4000 0000 0000 9995  | every charge fails with `insufficient_funds`               |
| 4000 0000 0000 0341  | the first charge succeeds, later ones are declined (dunning) |
| 4000 0000 0000 0259  | charges stay `pending` until a webhook settles them        |

Any other Luhn-valid number behaves like 4242. The number is used only inside
`tokenize_card` to pick the behaviour and the last four digits; it is never stored or logged.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext

from billing import clock
from billing.gateways import signing
from billing.gateways.base import CardDetails, ChargeResult, GatewayEvent, RefundResult
from billing.models import SandboxCard, SandboxCharge, SandboxRefund
from streamsite.errors import Conflict, ValidationFailed

TEST_CARDS: dict[str, str] = {
    "4242424242424242": "success",
    "5555555555554444": "success",
    "4000000000000002": "decline",
    "4000000000009995": "insufficient_funds",
    "4000000000000341": "first_then_decline",
    "4000000000000259": "pending",
}
FAILURES = {
    "decline": ("card_declined", "Your card was declined."),
    "insufficient_funds": ("insufficient_funds", "Your card has insufficient funds."),
}


@contextmanager
def provider_write() -> Iterator[None]:
    """A write on the pretend provider's side: atomic, without waiting for the disk.

    The sandbox stands in for a remote payment provider, so its own rows need not be durable
    the way ours are: on PostgreSQL a top-level write here commits asynchronously
    (`synchronous_commit` off for that transaction only; a crash may forget the last few
    sandbox rows, never ours). Inside a caller's transaction it is an ordinary savepoint.
    """
    top_level = not connection.in_atomic_block
    with transaction.atomic():
        if top_level and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def luhn_ok(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(number[:4]) <= 2720:
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    return "card"


class SandboxGateway:
    name = "sandbox"

    def tokenize_card(self, *, number: str, exp_month: int, exp_year: int, cvc: str) -> CardDetails:
        digits = "".join(ch for ch in number if ch.isdigit())
        if len(digits) < 12 or len(digits) > 19 or not luhn_ok(digits):
            raise ValidationFailed(
                gettext("That card number is not valid."),
                extra={"fields": {"number": [gettext("Invalid.")]}},
            )
        today = clock.now()
        if not 1 <= exp_month <= 12 or (exp_year, exp_month) < (today.year, today.month):
            raise ValidationFailed(
                gettext("That card has expired."),
                extra={"fields": {"exp_month": [gettext("Expired.")]}},
            )
        if not (cvc.isdigit() and len(cvc) in (3, 4)):
            raise ValidationFailed(
                gettext("The security code is 3 or 4 digits."),
                extra={"fields": {"cvc": [gettext("Invalid.")]}},
            )
        with provider_write():
            card = SandboxCard.objects.create(
                token=f"tok_sandbox_{secrets.token_hex(12)}",
                behaviour=TEST_CARDS.get(digits, "success"),
                brand=brand_of(digits),
                last4=digits[-4:],
            )
        return CardDetails(card.token, card.brand, card.last4, exp_month, exp_year)

    def attach(self, *, token: str, email: str, customer_id: str) -> CardDetails:
        card = SandboxCard.objects.filter(token=token).first()
        if card is None:
            raise ValidationFailed(
                gettext("Unknown card token."),
                extra={"fields": {"card_token": [gettext("Unknown.")]}},
            )
        return CardDetails(
            card.token,
            card.brand,
            card.last4,
            12,
            clock.now().year + 3,
            customer_id=customer_id or f"cus_sandbox_{secrets.token_hex(8)}",
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
        # Insert first: a key seen before fails the unique index and returns the first charge.
        existing = self._create_charge(amount, currency, token, idempotency_key)
        if existing.amount != amount or existing.currency != currency:
            # Stripe answers the same way: a key reused with different parameters.
            raise Conflict(gettext("Idempotency key reused with different parameters."))
        return self._result(existing)

    def _create_charge(
        self, amount: int, currency: str, token: str, idempotency_key: str
    ) -> SandboxCharge:
        card = SandboxCard.objects.filter(token=token).first()
        behaviour = card.behaviour if card else "decline"
        status, code = "succeeded", ""
        if behaviour in FAILURES:
            status, code = "failed", FAILURES[behaviour][0]
        elif behaviour == "first_then_decline":
            if SandboxCharge.objects.filter(token=token, status="succeeded").exists():
                status, code = "failed", "card_declined"
        elif behaviour == "pending":
            status = "pending"
        row = SandboxCharge(
            charge_id=f"ch_sandbox_{secrets.token_hex(10)}",
            idempotency_key=idempotency_key,
            token=token,
            amount=amount,
            currency=currency,
            status=status,
            failure_code=code,
        )
        try:
            with provider_write():
                row.save(force_insert=True)
        except IntegrityError:
            return SandboxCharge.objects.get(idempotency_key=idempotency_key)
        return row

    @staticmethod
    def _result(charge: SandboxCharge) -> ChargeResult:
        message = ""
        if charge.status == "failed":
            message = dict(FAILURES.values()).get(charge.failure_code, "Your card was declined.")
        return ChargeResult(charge.status, charge.charge_id, charge.failure_code, message)

    def refund(self, *, charge_id: str, amount: int, idempotency_key: str) -> RefundResult:
        existing = SandboxRefund.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return RefundResult(existing.refund_id)
        with provider_write():
            charge = SandboxCharge.objects.select_for_update().filter(charge_id=charge_id).first()
            if charge is None or charge.status != "succeeded":
                raise ValidationFailed(gettext("That charge cannot be refunded."))
            if charge.amount_refunded + amount > charge.amount:
                raise ValidationFailed(gettext("Refund exceeds the charge."))
            refund = SandboxRefund.objects.create(
                refund_id=f"re_sandbox_{secrets.token_hex(10)}",
                idempotency_key=idempotency_key,
                charge=charge,
                amount=amount,
            )
            charge.amount_refunded += amount
            charge.save(update_fields=["amount_refunded"])
        return RefundResult(refund.refund_id)

    def detach(self, *, token: str) -> None:
        with provider_write():
            SandboxCard.objects.filter(token=token).delete()

    def parse_webhook(self, *, payload: bytes, signature: str, now: datetime) -> GatewayEvent:
        signing.verify(
            payload,
            signature,
            settings.BILLING_SANDBOX_WEBHOOK_SECRET,
            now=now,
            tolerance=settings.BILLING_WEBHOOK_TOLERANCE,
        )
        return event_from_json(payload)


def event_from_json(payload: bytes) -> GatewayEvent:
    """The sandbox's event shape: {id, type, created, data: {charge_id, amount, currency,
    amount_refunded}}; anything else (a date out of range included) is a 400."""
    try:
        body = json.loads(payload)
        data = body.get("data", {})
        amount = data.get("amount")
        return GatewayEvent(
            event_id=str(body["id"]),
            type=str(body["type"]),
            created=signing.event_time(body["created"]),
            charge_id=str(data.get("charge_id", "")),
            amount=None if amount is None else int(amount),
            currency=str(data.get("currency", "")).upper(),
            amount_refunded=int(data.get("amount_refunded", 0)),
            raw=body,
        )
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError):
        raise ValidationFailed(gettext("Malformed event body."), code="bad_event") from None


def settle(*, charge_id: str, succeeded: bool) -> None:
    """Settle a pending sandbox charge (what the provider does before sending its webhook)."""
    SandboxCharge.objects.filter(charge_id=charge_id, status="pending").update(
        status="succeeded" if succeeded else "failed",
        failure_code="" if succeeded else "card_declined",
    )


def signed_event(
    *, event_id: str, type: str, data: dict, created: int, secret: str | None = None
) -> tuple[bytes, str]:
    """Build and sign a sandbox webhook delivery (tests and the demo use it)."""
    payload = json.dumps({"id": event_id, "type": type, "created": created, "data": data}).encode()
    secret = secret if secret is not None else settings.BILLING_SANDBOX_WEBHOOK_SECRET
    return payload, signing.sign(payload, secret, created)
