//! `/orders/:id`: the ticket, its price and the time left to pay, ticking every second
//! after hydration and right in the server-rendered HTML; "Order Expired" when it runs
//! out; why a cancelled order was cancelled; a completed order shows as paid. The pay
//! forms are in [`pay`].

pub mod pay;

use std::time::Duration;

use contract::api::Order;
use contract::{CancelReason, OrderId, OrderStatus};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use self::pay::{PayOrder, SandboxPayForm, StripePayForm, stripe_publishable_key};
use super::ticket::route_id;
use crate::api::AppError;
use crate::components::form::{FormErrors, SubmitButton, form_errors};
use crate::components::require_user::RequireUser;
use crate::components::status::ErrorPage;
use crate::format::{cancel_explanation, clock, dollars, now_ms};

#[server(prefix = "/_fn", endpoint = "get_order")]
pub async fn get_order(id: OrderId) -> Result<Order, AppError> {
    if !id.is_well_formed() {
        return Err(AppError::NotFound);
    }
    crate::api::backend::get(&contract::routes::order(&id)).await
}

#[server(prefix = "/_fn", endpoint = "cancel_order")]
pub async fn cancel_order(id: OrderId) -> Result<(), AppError> {
    if !id.is_well_formed() {
        return Err(AppError::NotFound);
    }
    crate::api::backend::delete(&contract::routes::order(&id)).await
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
    let id = route_id::<OrderId>();
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
    let expires_at = order.expires_at.unix_ms().unwrap_or_default();
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
                <p>{cancel_explanation(CancelReason::Expired)}</p>
            </div>
        }
        .into_any(),
        (_, reason) => view! {
            <div class="notice-bad" role="status">
                <p><strong>"Order cancelled"</strong></p>
                <p>{reason.map(cancel_explanation).unwrap_or("This order was cancelled.")}</p>
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
                <dd class="price">{dollars(order.ticket.price)}</dd>
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
                    <p>{cancel_explanation(CancelReason::Expired)}</p>
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

#[component]
fn CancelForm(id: OrderId, cancel: ServerAction<CancelOrder>) -> impl IntoView {
    view! {
        <div class="actions">
            <ActionForm action=cancel>
                <input type="hidden" name="id" value=id.into_string()/>
                <SubmitButton label="Cancel order" pending_label="Cancelling…" pending=cancel.pending()/>
            </ActionForm>
        </div>
        <FormErrors errors=form_errors(cancel.value(), &[])/>
    }
}
