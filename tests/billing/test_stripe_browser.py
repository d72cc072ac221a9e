"""In a real browser: the Stripe checkout and card pages, end to end, without the network.

Debian's Chromium driven by Playwright against pytest-django's live server. The page's own
script (static/billing/stripe_card.js) runs under the page's real CSP; the browser's requests
for https://js.stripe.com/v3/ get a small stand-in Stripe.js written below, and its calls to
https://api.stripe.com are forwarded to the loopback Stripe double, which the server also
talks to. So the test sees exactly what reaches Streamsite: ids, never the card.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connections

from billing.models import PaymentMethod, Subscription
from tests.clients import sign_in_browser

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VISA, DECLINED, MASTERCARD = "4242424242424242", "4000000000000002", "5555555555554444"

# A stand-in for Stripe.js v3: Stripe(key).elements().create("card").mount(el) puts one text
# field (no name, like Stripe's own field in its iframe, so it is never part of our form), and
# confirmCardSetup sends the card to "api.stripe.com" the way Stripe.js does (form-encoded,
# publishable key and client secret in the body).
FAKE_STRIPE_JS = """
window.Stripe = function (key) {
  return {
    elements: function () {
      return {
        create: function (type) {
          var input = document.createElement("input");
          var handlers = [];
          input.setAttribute("data-fake-stripe", type);
          input.addEventListener("input", function () {
            handlers.forEach(function (fn) {
              fn({ empty: !input.value, complete: input.value.length >= 16 });
            });
          });
          return {
            mount: function (target) { target.appendChild(input); },
            on: function (name, fn) { if (name === "change") handlers.push(fn); },
            number: function () { return input.value; },
          };
        },
      };
    },
    confirmCardSetup: function (clientSecret, data) {
      var body = new URLSearchParams({
        key: key,
        client_secret: clientSecret,
        "payment_method_data[type]": "card",
        "payment_method_data[card][number]": data.payment_method.card.number(),
        "payment_method_data[card][exp_month]": "12",
        "payment_method_data[card][exp_year]": "2030",
        "payment_method_data[card][cvc]": "123",
      });
      var id = clientSecret.split("_secret_")[0];
      return fetch("https://api.stripe.com/v1/setup_intents/" + id + "/confirm", {
        method: "POST",
        body: body,
      }).then(function (response) {
        return response.json().then(function (json) {
          return response.ok ? { setupIntent: json } : { error: json.error };
        });
      });
    },
  };
};
"""


@pytest.fixture
def browser_page(monkeypatch, settings, stripe_double):
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is required at /usr/bin/chromium (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # meanwhile are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    double_base = settings.STRIPE_API_BASE

    def serve_stripe_js(route):
        route.fulfill(status=200, content_type="application/javascript", body=FAKE_STRIPE_JS)

    def forward_to_double(route):
        request = route.request
        forwarded = urllib.request.Request(
            double_base + request.url.removeprefix("https://api.stripe.com"),
            data=request.post_data_buffer,
            method=request.method,
        )
        try:
            with urllib.request.urlopen(forwarded, timeout=5) as response:  # noqa: S310
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        route.fulfill(
            status=status,
            body=body,
            headers={"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
        )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1100, "height": 800})
        context.route("https://js.stripe.com/v3/**", serve_stripe_js)
        context.route("https://api.stripe.com/**", forward_to_double)
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()


def sign_in(page, live_server, user):
    sign_in_browser(page, live_server, user)


def test_checkout_and_card_change_through_stripe_js(
    live_server, browser_page, plans_reseeded, alice, stripe_double
):
    try:
        checkout_and_card_change(browser_page, live_server, alice, stripe_double)
    finally:
        # The test's ORM calls under Playwright's sync API get their own connection (Django
        # keys connections by context); close it here, or PostgreSQL cannot drop the test DB.
        connections.close_all()


def checkout_and_card_change(page, live_server, alice, stripe_double):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    to_us: list[tuple[str, str, str]] = []  # (method, url, body) of requests to our server
    page.on(
        "request",
        lambda r: (
            r.url.startswith(live_server.url) and to_us.append((r.method, r.url, r.post_data or ""))
        ),
    )
    sign_in(page, live_server, alice)

    # A declined card: Stripe's message shows on the form, nothing is posted to us.
    page.goto(f"{live_server.url}/plans/standard/checkout/")
    card = page.locator("[data-role=card-element] input")
    card.fill(DECLINED)
    page.get_by_role("button", name="Start free trial").click()
    alert = page.locator("[data-role=card-error]")
    alert.wait_for(state="visible")
    assert alert.inner_text() == "Your card was declined."
    assert [m for m, _, _ in to_us] == ["GET"] * len(to_us)
    assert Subscription.objects.count() == 0

    # A good card on the same SetupIntent: confirmed with "Stripe", then only ids reach us.
    card.fill(VISA)
    page.get_by_role("button", name="Start free trial").click()
    page.wait_for_url(f"{live_server.url}/account/billing/")
    assert "Welcome to Standard!" in page.locator(".messages").inner_text()
    sub = Subscription.objects.select_related("payment_method", "plan").get(account=alice)
    assert (sub.status, sub.plan.code) == ("trialing", "standard")
    assert (sub.payment_method.token, sub.payment_method.last4) == ("pm_1", "4242")
    posts = [body for method, _, body in to_us if method == "POST"]
    assert len(posts) == 1
    assert "setup_intent=seti_1" in posts[0] and "payment_method=pm_1" in posts[0]
    assert "currency=USD" in posts[0]

    # Change the card on its own page; the billing page shows the new one.
    page.get_by_role("link", name="Use another card").click()
    page.wait_for_url(f"{live_server.url}/account/billing/card/")
    page.locator("[data-role=card-element] input").fill(MASTERCARD)
    page.get_by_role("button", name="Save card").click()
    page.wait_for_url(f"{live_server.url}/account/billing/")
    assert "Mastercard ending in 4444" in page.locator(".billing").inner_text()
    assert list(
        PaymentMethod.objects.filter(account=alice).values_list("token", "last4").order_by("pk")
    ) == [("pm_1", "4242"), ("pm_2", "4444")]

    # The card numbers went to "Stripe" only: never in a request to Streamsite.
    confirms = [r[1] for r in stripe_double.requests if r[0].endswith("/confirm")]
    assert [c["payment_method_data[card][number]"] for c in confirms] == [
        DECLINED,
        VISA,
        MASTERCARD,
    ]
    for _, url, body in to_us:
        for number in (VISA, DECLINED, MASTERCARD):
            assert number not in url and number not in body
    # No script error and no CSP violation; the one failed load is the decline's 402.
    assert errors == [
        "Failed to load resource: the server responded with a status of 402 (Payment Required)"
    ]
