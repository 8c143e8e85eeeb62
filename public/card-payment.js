// The order page's card form: Stripe.js reads the card in its own fields, the shop's
// server attaches it to the order's PaymentIntent and confirms it, and Stripe.js handles
// 3-D Secure when the bank asks for it. Then the page reloads to show what Stripe says.
(function () {
  "use strict";
  var form = document.getElementById("card-payment-form");
  if (!form) return;
  var errorBox = document.getElementById("card-error");
  var button = form.querySelector("button[type=submit]");
  function say(message) {
    errorBox.textContent = message || "";
  }
  if (typeof window.Stripe !== "function") {
    say("The card form could not load. Please reload the page, or try again in a few minutes.");
    button.disabled = true;
    return;
  }
  var stripe = window.Stripe(form.dataset.key);
  var card = stripe.elements().create("card");
  card.mount("#card-element");

  function backToOrder() {
    var url = new URL(window.location.href);
    url.searchParams.delete("key");
    url.searchParams.set("payment", "returned");
    window.location.assign(url.pathname + url.search);
  }

  // The message inside one of the shop's error answers ({"Invalid":[{field,message}]},
  // {"Unavailable":"…"}, …).
  function messageOf(body) {
    if (!body || typeof body !== "object") return "The payment could not be made. Please try again.";
    var value = body[Object.keys(body)[0]];
    if (Array.isArray(value)) return value.map(function (e) { return e.message; }).join(" ");
    return String(value);
  }

  // A PaymentMethod id, or (with a Stripe.js that has no createPaymentMethod, such as
  // localstripe's) the id of the card a token was made for.
  async function readCard() {
    var made = typeof stripe.createPaymentMethod === "function"
      ? await stripe.createPaymentMethod({ type: "card", card: card })
      : undefined;
    if (made && made.error) throw new Error(made.error.message);
    if (made && made.paymentMethod) return made.paymentMethod.id;
    var token = await stripe.createToken(card);
    if (token.error) throw new Error(token.error.message || "Please check the card details.");
    return token.token.card.id;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    say("");
    button.disabled = true;
    try {
      var method = await readCard();
      var response = await fetch(form.dataset.endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        body: new URLSearchParams({ number: form.dataset.number, payment_method: method }),
        credentials: "same-origin",
      });
      var body = await response.json().catch(function () { return null; });
      if (!response.ok) {
        say(messageOf(body));
        return;
      }
      if (body && body.NeedsAction) {
        var confirmed = await stripe.confirmCardPayment(body.NeedsAction.client_secret);
        if (confirmed && confirmed.error) {
          say(confirmed.error.message || "Your bank did not confirm the payment.");
        }
      }
      backToOrder();
    } catch (e) {
      say(e && e.message ? e.message : "The payment could not be made. Please try again.");
    } finally {
      button.disabled = false;
    }
  });
})();
