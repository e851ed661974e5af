//! `/tickets/:id`: a ticket's title, price and status; its owner can edit it while it is
//! not locked.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::AppError;
use crate::components::status::ErrorPage;
use crate::model::{Ticket, TicketStatus};
use crate::session::use_session;

#[server(prefix = "/_fn", endpoint = "get_ticket")]
pub async fn get_ticket(id: String) -> Result<Ticket, AppError> {
    if !crate::model::is_plausible_id(&id) {
        return Err(AppError::NotFound);
    }
    crate::api::backend::get(&format!("/api/tickets/{id}")).await
}

/// The `:id` of the current route.
pub fn route_id() -> Signal<String> {
    let params = use_params_map();
    Signal::derive(move || params.read().get("id").unwrap_or_default())
}

#[component]
pub fn TicketPage() -> impl IntoView {
    let id = route_id();
    let ticket = Resource::new(move || id.get(), get_ticket);
    let session = use_session();
    let page = move || {
        Suspend::new(async move {
            let user = session.user.await.ok().flatten();
            match ticket.await {
                Ok(ticket) => {
                    let is_owner = user.as_ref().is_some_and(|u| u.id == ticket.user_id);
                    view! { <TicketDetails ticket is_owner/> }.into_any()
                }
                Err(error) => view! { <ErrorPage error/> }.into_any(),
            }
        })
    };
    view! { <Transition fallback=|| view! { <p>"Loading…"</p> }>{page}</Transition> }
}

#[component]
fn TicketDetails(ticket: Ticket, is_owner: bool) -> impl IntoView {
    let editable = is_owner && ticket.status == TicketStatus::Available;
    let status_class = format!("badge status-{}", ticket.status.label().to_lowercase());
    view! {
        <Title text=ticket.title.clone()/>
        <article class="card ticket-detail">
            <h1>{ticket.title.clone()}</h1>
            <dl class="facts">
                <dt>"Price"</dt>
                <dd class="price">{ticket.price.to_string()}</dd>
                <dt>"Status"</dt>
                <dd><span class=status_class>{ticket.status.label()}</span></dd>
            </dl>
            <div class="actions">
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
