"""A local HTTP double of the part of the Stripe API billing uses, served on loopback.

Server side (secret key): customers, PaymentMethod attach, SetupIntents (create, retrieve with
`expand[]=payment_method`), PaymentIntents, refunds. Browser side (publishable key, as Stripe.js
sends it): confirming a SetupIntent with card details, which is the only place a card number
appears. Card numbers behave like Stripe's test cards: 4000 0000 0000 0002 is declined.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

DECLINED_CARD = "4000000000000002"


def _brand(number: str) -> str:
    return {"4": "visa", "5": "mastercard", "3": "amex"}.get(number[:1], "unknown")


class StripeDouble(BaseHTTPRequestHandler):
    requests: list = []
    intents: dict = {}
    refunds: dict = {}
    setup_intents: dict = {}
    payment_methods: dict = {}
    lock = threading.Lock()
    # Called once a new PaymentIntent or refund is recorded and before the answer is sent:
    # the crash harness kills the calling worker here ("the gateway charged, we never heard").
    on_recorded = None

    @classmethod
    def reset(cls) -> None:
        cls.requests, cls.intents, cls.setup_intents, cls.payment_methods = [], {}, {}, {}
        cls.refunds, cls.on_recorded = {}, None

    def _recorded(self, kind):
        hook, StripeDouble.on_recorded = StripeDouble.on_recorded, None
        if hook is not None:
            hook(kind)

    def log_message(self, *args):  # keep test output quiet
        pass

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller was killed (crash harness)

    def _not_found(self):
        return self._invalid("nope", status=404)

    def _invalid(self, message, *, code=None, status=400):
        error = {"type": "invalid_request_error", "message": message}
        if code:
            error["code"] = code
        return self._reply(status, {"error": error})

    def _refuse_payment_method_types(self):
        # Removed from the API version stripe-python pins (2026-09-30.endive on).
        return self._invalid(
            "payment_method_types is no longer supported.",
            code="payment_method_types_no_longer_supported",
        )

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.requests.append((url.path, query, "", self.headers.get("Authorization")))
        parts = url.path.split("/")
        if url.path.startswith("/v1/setup_intents/") and len(parts) == 4:
            intent = self.setup_intents.get(parts[3])
            if intent is None:
                return self._not_found()
            intent = dict(intent)
            if "payment_method" in query.values() and intent["payment_method"]:
                intent["payment_method"] = self.payment_methods[intent["payment_method"]]
            return self._reply(200, intent)
        return self._not_found()

    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        key = self.headers.get("Idempotency-Key", "")
        self.requests.append((self.path, form, key, self.headers.get("Authorization")))
        if self.path == "/v1/customers":
            return self._reply(200, {"id": "cus_123", "object": "customer"})
        if self.path.startswith("/v1/payment_methods/") and self.path.endswith("/detach"):
            pm = self.path.split("/")[3]
            return self._reply(200, {"id": pm, "object": "payment_method", "customer": None})
        if self.path.startswith("/v1/payment_methods/") and self.path.endswith("/attach"):
            pm = self.path.split("/")[3]
            return self._reply(
                200,
                {
                    "id": pm,
                    "object": "payment_method",
                    "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
                },
            )
        if self.path == "/v1/setup_intents":
            if any(k.startswith("payment_method_types") for k in form):
                return self._refuse_payment_method_types()
            with self.lock:
                seti = f"seti_{len(self.setup_intents) + 1}"
                self.setup_intents[seti] = {
                    "id": seti,
                    "object": "setup_intent",
                    "client_secret": f"{seti}_secret_double",
                    "customer": form["customer"],
                    "usage": form.get("usage", "off_session"),
                    "status": "requires_payment_method",
                    "payment_method": None,
                }
            return self._reply(200, self.setup_intents[seti])
        if self.path.startswith("/v1/setup_intents/") and self.path.endswith("/confirm"):
            return self._confirm_setup(self.path.split("/")[3], form)
        if self.path == "/v1/payment_intents":
            card_only = form.get("allowed_payment_method_types[0]") == "card" and not any(
                k.startswith("allowed_payment_method_types[1") for k in form
            )
            no_redirects = form.get("automatic_payment_methods[allow_redirects]") == "never"
            if form.get("confirm") == "true" and not (
                card_only or no_redirects or form.get("return_url")
            ):
                # Stripe's answer when a PaymentIntent that may use redirect-based methods
                # (the default: methods from the Dashboard) is confirmed without a return_url.
                return self._invalid(
                    "You must provide a `return_url` when confirming a PaymentIntent that may "
                    "use redirect-based payment methods."
                )
            if any(k.startswith("payment_method_types") for k in form):
                return self._refuse_payment_method_types()
            if form["payment_method"] == "pm_card_chargeDeclinedInsufficientFunds":
                return self._reply(
                    402,
                    {
                        "error": {
                            "type": "card_error",
                            "code": "card_declined",
                            "decline_code": "insufficient_funds",
                            "message": "Your card has insufficient funds.",
                            "payment_intent": {
                                "id": "pi_declined",
                                "object": "payment_intent",
                                "status": "requires_payment_method",
                            },
                        }
                    },
                )
            with self.lock:  # Stripe's idempotency: the same key answers the first request
                new = key not in self.intents
                if new:
                    status = (
                        "processing"
                        if form["payment_method"] == "pm_card_processing"
                        else "succeeded"
                    )
                    self.intents[key] = {
                        "id": f"pi_{len(self.intents) + 1}",
                        "object": "payment_intent",
                        "status": status,
                        "amount": int(form["amount"]),
                        "currency": form["currency"],
                        "amount_refunded": 0,
                    }
            if new:
                self._recorded("charge")
            return self._reply(200, self.intents[key])
        if self.path == "/v1/refunds":
            return self._refund(key, form)
        return self._not_found()

    def _refund(self, key, form):
        with self.lock:
            new = key not in self.refunds
            if new:
                intent = next(
                    (i for i in self.intents.values() if i["id"] == form["payment_intent"]), None
                )
                amount = int(form["amount"])
                if intent is None or intent["amount_refunded"] + amount > intent["amount"]:
                    return self._invalid("Refund exceeds the charge.")
                intent["amount_refunded"] += amount
                self.refunds[key] = {
                    "id": f"re_{len(self.refunds) + 1}",
                    "object": "refund",
                    "amount": amount,
                    "payment_intent": intent["id"],
                }
        if new:
            self._recorded("refund")
        return self._reply(200, self.refunds[key])

    def _confirm_setup(self, seti, form):
        """What Stripe.js does in the browser: publishable key + client secret + the card."""
        intent = self.setup_intents.get(seti)
        if (
            intent is None
            or not form.get("key", "").startswith("pk_")
            or form.get("client_secret") != intent["client_secret"]
        ):
            return self._not_found()
        number = form.get("payment_method_data[card][number]", "").replace(" ", "")
        if number == DECLINED_CARD:
            return self._reply(
                402,
                {
                    "error": {
                        "type": "card_error",
                        "code": "card_declined",
                        "decline_code": "generic_decline",
                        "message": "Your card was declined.",
                    }
                },
            )
        with self.lock:
            pm = f"pm_{len(self.payment_methods) + 1}"
            self.payment_methods[pm] = {
                "id": pm,
                "object": "payment_method",
                "customer": intent["customer"],
                "card": {
                    "brand": _brand(number),
                    "last4": number[-4:],
                    "exp_month": int(form.get("payment_method_data[card][exp_month]", 12)),
                    "exp_year": int(form.get("payment_method_data[card][exp_year]", 2030)),
                },
            }
            intent.update(status="succeeded", payment_method=pm)
        return self._reply(200, intent)


def serve() -> ThreadingHTTPServer:
    StripeDouble.reset()
    server = ThreadingHTTPServer(("127.0.0.1", 0), StripeDouble)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def post(base: str, path: str, form: dict[str, str]) -> tuple[int, dict]:
    """POST a form to the double as a browser would; (status, JSON body), errors included."""
    request = urllib.request.Request(base + path, data=urlencode(form).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def confirm_setup(base: str, client_secret: str, number: str = "4242424242424242") -> dict:
    """Confirm a SetupIntent the way Stripe.js's confirmCardSetup does; returns the body."""
    seti = client_secret.split("_secret_")[0]
    _, body = post(
        base,
        f"/v1/setup_intents/{seti}/confirm",
        {
            "key": "pk_test_double",
            "client_secret": client_secret,
            "payment_method_data[type]": "card",
            "payment_method_data[card][number]": number,
            "payment_method_data[card][exp_month]": "12",
            "payment_method_data[card][exp_year]": "2030",
            "payment_method_data[card][cvc]": "123",
        },
    )
    return body
