//! `/`: the tickets for sale.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::AppError;
use crate::components::status::ErrorPage;
use crate::model::Ticket;

#[server(prefix = "/_fn", endpoint = "list_tickets")]
pub async fn list_tickets() -> Result<Vec<Ticket>, AppError> {
    crate::api::backend::get("/api/tickets").await
}

#[component]
pub fn HomePage() -> impl IntoView {
    let tickets = Resource::new(|| (), |_| list_tickets());
    let listing = move || {
        Suspend::new(async move {
            match tickets.await {
                Ok(tickets) if tickets.is_empty() => view! {
                    <div class="card empty">
                        <p>"No tickets are for sale right now."</p>
                        <p><A href="/tickets/new">"Sell a ticket"</A></p>
                    </div>
                }
                .into_any(),
                Ok(tickets) => view! {
                    <ul class="ticket-grid">
                        {tickets.into_iter().map(|ticket| view! { <TicketCard ticket/> }).collect_view()}
                    </ul>
                }
                .into_any(),
                Err(error) => view! { <ErrorPage error/> }.into_any(),
            }
        })
    };
    view! {
        <Title text="Tickets for sale"/>
        <h1>"Tickets for sale"</h1>
        <Transition fallback=|| view! { <p>"Loading tickets…"</p> }>{listing}</Transition>
    }
}

#[component]
fn TicketCard(ticket: Ticket) -> impl IntoView {
    let href = format!("/tickets/{}", ticket.id);
    view! {
        <li class="ticket-card card">
            <h2 class="ticket-title"><A href=href.clone()>{ticket.title}</A></h2>
            <p class="price">{ticket.price.to_string()}</p>
            <A href=href attr:class="button" attr:aria-hidden="true" attr:tabindex="-1">"View"</A>
        </li>
    }
}
