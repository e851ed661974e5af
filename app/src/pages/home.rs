//! `/`: the tickets for sale.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::AppError;
use crate::components::status::ErrorPage;
use crate::model::TicketSummary;

/// The tickets for sale, as much of each as the page shows: every ticket's data also goes
/// into the page for hydration, so the less of it the smaller and faster the page.
#[server(prefix = "/_fn", endpoint = "list_tickets")]
pub async fn list_tickets() -> Result<Vec<TicketSummary>, AppError> {
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

/// Plain links: the router follows them in the browser all the same, and on a page of many
/// tickets `<A>`'s path resolution and active-state tracking cost more than the rest of
/// the card.
#[component]
fn TicketCard(ticket: TicketSummary) -> impl IntoView {
    let href = format!("/tickets/{}", ticket.id);
    view! {
        <li class="ticket-card card">
            <h2 class="ticket-title"><a href=href.clone()>{ticket.title}</a></h2>
            <p class="price">{ticket.price.to_string()}</p>
            <a href=href class="button" aria-hidden="true" tabindex="-1">"View"</a>
        </li>
    }
}
