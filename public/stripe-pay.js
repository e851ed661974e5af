// Card entry with Stripe.js, used when the web server has a Stripe publishable key
// (STRIPE_PUBLISHABLE_KEY). Stripe.js turns the card into a token in the browser; the form
// then posts only that token (never the card number) to the pay server function.
(function () {
  "use strict";
  var form = document.getElementById("stripe-pay-form");
  if (!form || typeof Stripe !== "function") {
    return;
  }
  var stripe = Stripe(form.getAttribute("data-stripe-key"));
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var errors = document.getElementById("card-errors");
  var button = form.querySelector("button[type=submit]");
  card.on("change", function (event) {
    errors.textContent = event.error ? event.error.message : "";
  });
  form.addEventListener("submit", function (event) {
    if (document.getElementById("stripe-token").value) {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    button.disabled = true;
    stripe.createToken(card).then(function (result) {
      if (result.error) {
        errors.textContent = result.error.message;
        button.disabled = false;
        return;
      }
      document.getElementById("stripe-token").value = result.token.id;
      form.submit();
    });
  }, true);
})();
