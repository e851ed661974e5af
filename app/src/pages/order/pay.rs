//! Paying for an order: the sandbox's card form (test card numbers for Stripe's test
//! tokens) or, when the web server has a publishable key, Stripe's own card form, and the
//! server function both post to.

use contract::api::Payment;
use contract::{OrderId, Price};
use leptos::prelude::*;

use crate::api::AppError;
use crate::components::form::{Field, FormErrors, SubmitButton, field_error, form_errors};
use crate::format::dollars;

/// What the buyer paid with, as the payments service wants it: a card token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestCard {
    pub number: &'static str,
    pub token: &'static str,
    pub label: &'static str,
}

/// The sandbox's test cards (Stripe's test numbers and the tokens they stand for).
pub const TEST_CARDS: &[TestCard] = &[
    TestCard {
        number: "4242 4242 4242 4242",
        token: "tok_visa",
        label: "pays",
    },
    TestCard {
        number: "5555 5555 5555 4444",
        token: "tok_mastercard",
        label: "pays",
    },
    TestCard {
        number: "4000 0000 0000 0002",
        token: "tok_chargeDeclined",
        label: "is declined",
    },
    TestCard {
        number: "4000 0000 0000 9995",
        token: "tok_chargeDeclinedInsufficientFunds",
        label: "has insufficient funds",
    },
];

/// The test token for a card number typed into the sandbox form (spaces and dashes
/// ignored).
pub fn sandbox_token(card_number: &str) -> Option<&'static str> {
    let digits: String = card_number.chars().filter(char::is_ascii_digit).collect();
    TEST_CARDS
        .iter()
        .find(|card| card.number.replace(' ', "") == digits)
        .map(|card| card.token)
}

/// Stripe's publishable key, when the web server has one (`STRIPE_PUBLISHABLE_KEY`):
/// the pay form then collects the card with Stripe.js.
#[server(prefix = "/_fn", endpoint = "payment_settings")]
pub async fn stripe_publishable_key() -> Result<Option<String>, AppError> {
    Ok(std::env::var("STRIPE_PUBLISHABLE_KEY")
        .ok()
        .filter(|k| k.starts_with("pk_")))
}

/// Pays for the order with a Stripe.js `token`, or (sandbox) with a test `card_number`.
#[server(prefix = "/_fn", endpoint = "pay_order")]
pub async fn pay_order(
    order_id: OrderId,
    token: Option<String>,
    card_number: Option<String>,
) -> Result<Payment, AppError> {
    use contract::api::{ErrorItem, NewPayment};

    if !order_id.is_well_formed() {
        return Err(AppError::NotFound);
    }
    let token = match (token.filter(|t| !t.trim().is_empty()), card_number) {
        (Some(token), _) => token,
        (None, Some(number)) => match sandbox_token(&number) {
            Some(token) => token.to_owned(),
            None => {
                return Err(AppError::Rejected(vec![ErrorItem {
                    message: "Use one of the test card numbers shown".to_owned(),
                    field: Some("card_number".to_owned()),
                }]));
            }
        },
        (None, None) => {
            return Err(AppError::Rejected(vec![ErrorItem {
                message: "Enter your card".to_owned(),
                field: Some("card_number".to_owned()),
            }]));
        }
    };
    let body = NewPayment {
        order_id: order_id.clone(),
        token,
    };
    let payment: Payment = crate::api::backend::post(contract::routes::PAYMENTS, &body).await?;
    leptos_axum::redirect(&format!("/orders/{order_id}?paid=1"));
    Ok(payment)
}

/// The sandbox's card form: test card numbers stand for Stripe's test tokens.
#[component]
pub fn SandboxPayForm(
    order_id: OrderId,
    price: Price,
    pay: ServerAction<PayOrder>,
) -> impl IntoView {
    let value = pay.value();
    let hint = TEST_CARDS
        .iter()
        .map(|card| format!("{} {}", card.number, card.label))
        .collect::<Vec<_>>()
        .join("; ");
    let label = format!("Pay {}", dollars(price));
    view! {
        <section class="pay" aria-labelledby="pay-heading">
            <h2 id="pay-heading">"Pay for your ticket"</h2>
            <p class="muted">"Sandbox payments: no real card is charged."</p>
            <ActionForm action=pay attr:novalidate=true attr:class="form">
                <input type="hidden" name="order_id" value=order_id.into_string()/>
                <Field label="Card number" name="card_number" autocomplete="cc-number"
                    hint=hint error=field_error(value, "card_number")/>
                <FormErrors errors=form_errors(value, &["card_number"])/>
                <SubmitButton label=label pending_label="Paying…" pending=pay.pending()/>
            </ActionForm>
        </section>
    }
}

/// Stripe's card form: Stripe.js turns the card into a token in the browser
/// (`/stripe-pay.js`), and the form posts only the token.
#[component]
pub fn StripePayForm(order_id: OrderId, price: Price, stripe_key: String) -> impl IntoView {
    view! {
        <section class="pay" aria-labelledby="pay-heading">
            <h2 id="pay-heading">"Pay for your ticket"</h2>
            <form id="stripe-pay-form" class="form" method="post" action="/_fn/pay_order" data-stripe-key=stripe_key>
                <input type="hidden" name="order_id" value=order_id.into_string()/>
                <input type="hidden" name="token" id="stripe-token"/>
                <div class="field">
                    <label for="card-element">"Card"</label>
                    <div id="card-element" class="card-element"></div>
                    <p class="field-error" id="card-errors" role="alert"></p>
                </div>
                <button type="submit" class="button primary">{format!("Pay {}", dollars(price))}</button>
            </form>
            <script src="https://js.stripe.com/v3/"></script>
            <script src="/stripe-pay.js"></script>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::sandbox_token;

    #[test]
    fn test_card_numbers_map_to_test_tokens() {
        assert_eq!(sandbox_token("4242 4242 4242 4242"), Some("tok_visa"));
        assert_eq!(sandbox_token("4242-4242-4242-4242"), Some("tok_visa"));
        assert_eq!(
            sandbox_token("4000000000000002"),
            Some("tok_chargeDeclined")
        );
        assert_eq!(sandbox_token("1234"), None);
        assert_eq!(sandbox_token(""), None);
    }
}
