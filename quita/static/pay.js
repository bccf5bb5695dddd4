// Card payment: the card details go from this page straight to the payment gateway's
// script (Stripe.js, or the local test gateway's stand-in); Quita receives only the id
// of the payment method, creates the charge, and the page then follows its status.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("card-form");
  if (!form || typeof Stripe !== "function") return;
  const stripe = Stripe(form.dataset.key);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const status = document.getElementById("card-status");
  const button = form.querySelector("button[type=submit]");

  const fail = (message) => {
    status.textContent = message || form.dataset.failed;
    button.disabled = false;
  };

  const paymentMethodId = async () => {
    const created = await stripe.createPaymentMethod({ type: "card", card });
    if (created) {
      if (created.error) throw created.error;
      return created.paymentMethod.id;
    }
    const result = await stripe.createToken(card); // the test gateway's stand-in has tokens only
    if (result.error) throw result.error;
    return result.token.card.id;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    status.textContent = form.dataset.working;
    try {
      form.elements.payment_method.value = await paymentMethodId();
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { accept: "application/json" },
        credentials: "same-origin",
      });
      const answer = await response.json();
      if (!response.ok && !answer.url) return fail(answer.message);
      if (answer.client_secret) {
        const result = await stripe.confirmCardPayment(answer.client_secret);
        if (result.error) return fail(result.error.message);
      }
      window.location.assign(answer.url);
    } catch (error) {
      fail(error && error.message);
    }
  });
});
