//! `/tickets/:id`: a ticket's title, price and status; its owner can edit it while it is
//! not locked.

use contract::api::{Order, Ticket};
use contract::{TicketId, TicketStatus};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::AppError;
use crate::components::form::{FormErrors, SubmitButton, form_errors};
use crate::components::status::ErrorPage;
use crate::format::{dollars, ticket_status};
use crate::session::use_session;

#[server(prefix = "/_fn", endpoint = "get_ticket")]
pub async fn get_ticket(id: TicketId) -> Result<Ticket, AppError> {
    if !id.is_well_formed() {
        return Err(AppError::NotFound);
    }
    crate::api::backend::get(&contract::routes::ticket(&id)).await
}

/// Reserves the ticket; the buyer continues on the order page. A signed-out visitor is sent
/// to sign in first and brought back here.
#[server(prefix = "/_fn", endpoint = "create_order")]
pub async fn create_order(ticket_id: TicketId) -> Result<Order, AppError> {
    let well_formed = ticket_id.is_well_formed();
    let order = contract::api::NewOrder {
        ticket_id: ticket_id.clone(),
    };
    let result: Result<Order, AppError> =
        crate::api::backend::post(contract::routes::ORDERS, &order).await;
    match &result {
        Ok(order) => leptos_axum::redirect(&format!("/orders/{}", order.id)),
        Err(AppError::Unauthorized) if well_formed => {
            leptos_axum::redirect(&format!("/auth/signin?next=/tickets/{ticket_id}"));
        }
        Err(_) => {}
    }
    result
}

/// The `:id` of the current route, as the id type of the page's record.
pub fn route_id<Id>() -> Signal<Id>
where
    Id: From<String> + Clone + Send + Sync + 'static,
{
    let params = use_params_map();
    Signal::derive(move || Id::from(params.read().get("id").unwrap_or_default()))
}

#[component]
pub fn TicketPage() -> impl IntoView {
    let id = route_id::<TicketId>();
    let ticket = Resource::new(move || id.get(), get_ticket);
    let session = use_session();
    let page = move || {
        Suspend::new(async move {
            let user = session.user.await.ok().flatten();
            match ticket.await {
                Ok(ticket) => {
                    let is_owner = user.as_ref().is_some_and(|u| u.id == ticket.user_id);
                    let signed_in = user.is_some();
                    view! { <TicketDetails ticket is_owner signed_in/> }.into_any()
                }
                Err(error) => view! { <ErrorPage error/> }.into_any(),
            }
        })
    };
    view! { <Transition fallback=|| view! { <p>"Loading…"</p> }>{page}</Transition> }
}

#[component]
fn TicketDetails(ticket: Ticket, is_owner: bool, signed_in: bool) -> impl IntoView {
    let available = ticket.status == TicketStatus::Available;
    let editable = is_owner && available;
    let purchase = match (available && !is_owner, signed_in) {
        (true, true) => Some(view! { <PurchaseForm ticket_id=ticket.id.clone()/> }.into_any()),
        (true, false) => Some(
            view! {
                <A href=format!("/auth/signin?next=/tickets/{}", ticket.id) attr:class="button primary">
                    "Sign in to purchase"
                </A>
            }
            .into_any(),
        ),
        (false, _) => None,
    };
    let unavailable = (!available && !is_owner).then_some(match ticket.status {
        TicketStatus::Sold => "This ticket has been sold.",
        _ => "This ticket is reserved by another buyer right now.",
    });
    let status_class = format!("badge status-{}", ticket.status.as_str());
    view! {
        <Title text=ticket.title.clone()/>
        <article class="card ticket-detail">
            <h1>{ticket.title.clone()}</h1>
            <dl class="facts">
                <dt>"Price"</dt>
                <dd class="price">{dollars(ticket.price)}</dd>
                <dt>"Status"</dt>
                <dd><span class=status_class>{ticket_status(ticket.status)}</span></dd>
            </dl>
            <div class="actions">
                {purchase}
                {unavailable.map(|text| view! { <p class="muted">{text}</p> })}
                {editable.then(|| view! {
                    <A href=format!("/tickets/{}/edit", ticket.id) attr:class="button">"Edit"</A>
                })}
                {(is_owner && !editable).then(|| view! {
                    <p class="muted">"This ticket is locked by an order and cannot be edited."</p>
                })}
            </div>
        </article>
    }
}

#[component]
fn PurchaseForm(ticket_id: TicketId) -> impl IntoView {
    let action = ServerAction::<CreateOrder>::new();
    view! {
        <ActionForm action=action attr:class="purchase">
            <input type="hidden" name="ticket_id" value=ticket_id.into_string()/>
            <SubmitButton label="Purchase" pending_label="Reserving…" pending=action.pending()/>
            <FormErrors errors=form_errors(action.value(), &[])/>
        </ActionForm>
    }
}
