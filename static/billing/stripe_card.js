// Stripe card form (BILLING_GATEWAY=stripe): Stripe.js collects the card in its own frame and
// confirms the page's SetupIntent with Stripe; this form then posts only the SetupIntent and
// PaymentMethod ids, which the server verifies with Stripe. The card never reaches Streamsite.
(function () {
  "use strict";
  const form = document.querySelector("form[data-stripe-key]");
  if (!form) return;
  const errorBox = form.querySelector("[data-role=card-error]");
  const button = form.querySelector("button[type=submit]");

  function showError(message) {
    errorBox.textContent = message || "";
    errorBox.hidden = !message;
  }

  if (typeof window.Stripe !== "function") {
    showError("Card payments could not be loaded. Check your connection and reload the page.");
    button.disabled = true;
    return;
  }
  const stripe = window.Stripe(form.dataset.stripeKey);
  const text = window.getComputedStyle(document.body).color;
  const card = stripe.elements().create("card", { style: { base: { color: text } } });
  card.mount(form.querySelector("[data-role=card-element]"));

  let empty = true;
  card.on("change", function (event) {
    empty = event.empty;
    showError(event.error ? event.error.message : "");
  });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    // With a card on file and nothing typed, the checkout uses the saved card.
    if (empty && form.dataset.savedCard === "true") {
      form.submit();
      return;
    }
    button.disabled = true;
    showError("");
    let result;
    try {
      result = await stripe.confirmCardSetup(form.dataset.clientSecret, {
        payment_method: { card: card },
      });
    } catch (err) {
      result = { error: { message: "Stripe could not be reached. Please try again." } };
    }
    if (result.error) {
      showError(result.error.message || "Your card could not be saved.");
      button.disabled = false;
      return;
    }
    const intent = result.setupIntent;
    form.elements.setup_intent.value = intent.id;
    form.elements.payment_method.value =
      typeof intent.payment_method === "string" ? intent.payment_method : intent.payment_method.id;
    form.submit(); // a programmatic submit does not fire this handler again
  });
})();
