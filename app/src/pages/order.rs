//! `/orders/:id`: the ticket, its price and the time left to pay, ticking every second
//! after hydration and right in the server-rendered HTML; "Order Expired" when it runs
//! out; why a cancelled order was cancelled; a completed order shows as paid.

use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::ticket::route_id;
use crate::api::AppError;
use crate::components::form::{FormErrors, SubmitButton, form_errors};
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
    let order = Resource::new(
        move || (id.get(), cancel.version().get()),
        |(id, _)| get_order(id),
    );
    Effect::new(move || {
        let handle = set_interval_with_handle(
            move || {
                let open = order
                    .with_untracked(|o| matches!(o, Some(Ok(order)) if order.status.is_open()));
                if open {
                    order.refetch();
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
                match order.await {
                    Ok(order) => view! { <OrderDetails order cancel/> }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OrderDetails(order: Order, cancel: ServerAction<CancelOrder>) -> impl IntoView {
    let expires_at = order.expires_at_ms();
    let ticket_href = format!("/tickets/{}", order.ticket.id);
    let state = match (order.status, order.cancel_reason) {
        (status, _) if status.is_open() => view! { <OpenOrder order=order.clone() expires_at cancel/> }.into_any(),
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
fn OpenOrder(order: Order, expires_at: i64, cancel: ServerAction<CancelOrder>) -> impl IntoView {
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
            <CancelForm id=id.clone() cancel/>
        </Show>
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
