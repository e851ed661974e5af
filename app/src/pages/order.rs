//! `/orders/:id`: the ticket, its price and the time left to pay, ticking every second
//! after hydration and right in the server-rendered HTML; "Order Expired" when it runs
//! out; why a cancelled order was cancelled; a completed order shows as paid.

use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use super::ticket::route_id;
use crate::api::AppError;
use crate::components::form::{Field, FormErrors, SubmitButton, field_error, form_errors};
use crate::components::require_user::RequireUser;
use crate::components::status::ErrorPage;
use crate::model::{CancelReason, Order, OrderStatus, clock, now_ms};

#[server(prefix = "/_fn", endpoint = "get_order")]
pub async fn get_order(id: String) -> Result<Order, AppError> {
    if !crate::model::is_plausible_id(&id) {
        return Err(AppError::NotFound);
    }
    crate::api::backend::get(&format!("/api/orders/{id}")).await
}

#[server(prefix = "/_fn", endpoint = "cancel_order")]
pub async fn cancel_order(id: String) -> Result<(), AppError> {
    if !crate::model::is_plausible_id(&id) {
        return Err(AppError::NotFound);
    }
    crate::api::backend::delete(&format!("/api/orders/{id}")).await
}

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

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Paid {
    pub id: String,
}

/// Pays for the order with a Stripe.js `token`, or (sandbox) with a test `card_number`.
#[server(prefix = "/_fn", endpoint = "pay_order")]
pub async fn pay_order(
    order_id: String,
    token: Option<String>,
    card_number: Option<String>,
) -> Result<Paid, AppError> {
    use crate::api::ErrorItem;

    if !crate::model::is_plausible_id(&order_id) {
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
    let paid: Paid = crate::api::backend::post(
        "/api/payments",
        &serde_json::json!({ "orderId": order_id, "token": token }),
    )
    .await?;
    leptos_axum::redirect(&format!("/orders/{order_id}?paid=1"));
    Ok(paid)
}

/// How often an open order is read again, to show a cancellation (say, a price change)
/// without a reload.
const REFRESH: Duration = Duration::from_secs(3);

#[component]
pub fn OrderPage() -> impl IntoView {
    view! {
        <Title text="Your order"/>
        <RequireUser children=|_user| view! { <OrderView/> }/>
    }
}

#[component]
fn OrderView() -> impl IntoView {
    let id = route_id();
    let cancel = ServerAction::<CancelOrder>::new();
    let pay = ServerAction::<PayOrder>::new();
    // Bumped whenever the order is known to have changed. The page is drawn again only then,
    // so that a card number being typed is never wiped by a refresh that changed nothing.
    let changed = RwSignal::new(0_u32);
    let order = Resource::new(
        move || (id.get(), cancel.version().get(), changed.get()),
        |(id, _, _)| get_order(id),
    );
    let stripe_key = Resource::new(|| (), |_| stripe_publishable_key());
    let query = use_query_map();
    // Paid, but the orders service has not completed the order yet.
    let paid = Signal::derive(move || {
        query.read().get("paid").is_some() || pay.value().with(|v| matches!(v, Some(Ok(_))))
    });
    Effect::new(move || {
        if pay.value().with(|v| matches!(v, Some(Ok(_)))) {
            changed.update(|n| *n += 1);
        }
    });
    // While the order is open, look for changes made elsewhere (payment confirmed, expiry,
    // a refused reservation).
    Effect::new(move || {
        let handle = set_interval_with_handle(
            move || {
                let shown = order.with_untracked(|o| match o {
                    Some(Ok(order)) if order.status.is_open() => Some(order.version),
                    _ => None,
                });
                if let Some(shown) = shown {
                    let id = id.get_untracked();
                    leptos::task::spawn_local(async move {
                        if let Ok(latest) = get_order(id).await
                            && latest.version != shown
                        {
                            changed.update(|n| *n += 1);
                        }
                    });
                }
            },
            REFRESH,
        )
        .ok();
        on_cleanup(move || {
            if let Some(handle) = handle {
                handle.clear();
            }
        });
    });
    view! {
        <Transition fallback=|| view! { <p>"Loading your order…"</p> }>
            {move || Suspend::new(async move {
                let stripe_key = stripe_key.await.ok().flatten();
                match order.await {
                    Ok(order) => view! { <OrderDetails order cancel pay paid stripe_key/> }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OrderDetails(
    order: Order,
    cancel: ServerAction<CancelOrder>,
    pay: ServerAction<PayOrder>,
    paid: Signal<bool>,
    stripe_key: Option<String>,
) -> impl IntoView {
    let expires_at = order.expires_at_ms();
    let ticket_href = format!("/tickets/{}", order.ticket.id);
    let state = match (order.status, order.cancel_reason) {
        (status, _) if status.is_open() && paid.get_untracked() => view! {
            <p class="notice-ok" role="status">
                <strong>"Payment received."</strong>" Confirming your order…"
            </p>
        }
        .into_any(),
        (status, _) if status.is_open() => {
            view! { <OpenOrder order=order.clone() expires_at cancel pay stripe_key/> }.into_any()
        }
        (OrderStatus::Complete, _) => view! {
            <p class="notice-ok" role="status"><strong>"Paid"</strong>" — the ticket is yours."</p>
        }
        .into_any(),
        (_, Some(CancelReason::Expired)) => view! {
            <div class="notice-bad" role="status">
                <p><strong>"Order Expired"</strong></p>
                <p>{CancelReason::Expired.explanation()}</p>
            </div>
        }
        .into_any(),
        (_, reason) => view! {
            <div class="notice-bad" role="status">
                <p><strong>"Order cancelled"</strong></p>
                <p>{reason.map(CancelReason::explanation).unwrap_or("This order was cancelled.")}</p>
            </div>
        }
        .into_any(),
    };
    view! {
        <article class="card order-detail">
            <p class="eyebrow">"Order"</p>
            <h1><A href=ticket_href>{order.ticket.title.clone()}</A></h1>
            <dl class="facts">
                <dt>"Price"</dt>
                <dd class="price">{order.ticket.price.to_string()}</dd>
                <dt>"Status"</dt>
                <dd><span class=format!("badge status-{}", order.status.as_str().replace(':', "-"))>{order.status.as_str()}</span></dd>
            </dl>
            {state}
        </article>
    }
}

#[component]
fn OpenOrder(
    order: Order,
    expires_at: i64,
    cancel: ServerAction<CancelOrder>,
    pay: ServerAction<PayOrder>,
    stripe_key: Option<String>,
) -> impl IntoView {
    let now = RwSignal::new(now_ms());
    Effect::new(move || {
        let handle =
            set_interval_with_handle(move || now.set(now_ms()), Duration::from_secs(1)).ok();
        on_cleanup(move || {
            if let Some(handle) = handle {
                handle.clear();
            }
        });
    });
    let remaining = move || expires_at - now.get();
    let id = order.id;
    let price = order.ticket.price;
    view! {
        <Show
            when=move || { remaining() > 0 }
            fallback=|| view! {
                <div class="notice-bad" role="status">
                    <p><strong>"Order Expired"</strong></p>
                    <p>{CancelReason::Expired.explanation()}</p>
                </div>
            }
        >
            <p class="countdown" role="timer" aria-live="off">
                "Time left to pay: " <strong class="clock">{move || clock(remaining())}</strong>
            </p>
            {match stripe_key.clone() {
                Some(key) => view! { <StripePayForm order_id=id.clone() price stripe_key=key/> }.into_any(),
                None => view! { <SandboxPayForm order_id=id.clone() price pay/> }.into_any(),
            }}
            <CancelForm id=id.clone() cancel/>
        </Show>
    }
}

/// The sandbox's card form: test card numbers stand for Stripe's test tokens.
#[component]
fn SandboxPayForm(
    order_id: String,
    price: crate::model::Money,
    pay: ServerAction<PayOrder>,
) -> impl IntoView {
    let value = pay.value();
    let hint = TEST_CARDS
        .iter()
        .map(|card| format!("{} {}", card.number, card.label))
        .collect::<Vec<_>>()
        .join("; ");
    let label = format!("Pay {price}");
    view! {
        <section class="pay" aria-labelledby="pay-heading">
            <h2 id="pay-heading">"Pay for your ticket"</h2>
            <p class="muted">"Sandbox payments: no real card is charged."</p>
            <ActionForm action=pay attr:novalidate=true attr:class="form">
                <input type="hidden" name="order_id" value=order_id/>
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
fn StripePayForm(
    order_id: String,
    price: crate::model::Money,
    stripe_key: String,
) -> impl IntoView {
    view! {
        <section class="pay" aria-labelledby="pay-heading">
            <h2 id="pay-heading">"Pay for your ticket"</h2>
            <form id="stripe-pay-form" class="form" method="post" action="/_fn/pay_order" data-stripe-key=stripe_key>
                <input type="hidden" name="order_id" value=order_id/>
                <input type="hidden" name="token" id="stripe-token"/>
                <div class="field">
                    <label for="card-element">"Card"</label>
                    <div id="card-element" class="card-element"></div>
                    <p class="field-error" id="card-errors" role="alert"></p>
                </div>
                <button type="submit" class="button primary">{format!("Pay {price}")}</button>
            </form>
            <script src="https://js.stripe.com/v3/"></script>
            <script src="/stripe-pay.js"></script>
        </section>
    }
}

#[component]
fn CancelForm(id: String, cancel: ServerAction<CancelOrder>) -> impl IntoView {
    view! {
        <div class="actions">
            <ActionForm action=cancel>
                <input type="hidden" name="id" value=id/>
                <SubmitButton label="Cancel order" pending_label="Cancelling…" pending=cancel.pending()/>
            </ActionForm>
        </div>
        <FormErrors errors=form_errors(cancel.value(), &[])/>
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
