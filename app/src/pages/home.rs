//! `/`: the tickets for sale.

use contract::{Price, TicketId, api};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};

use crate::api::AppError;
use crate::components::status::ErrorPage;
use crate::format::dollars;

/// What the page shows of a ticket for sale: every ticket's data also goes into the page
/// for hydration, so the less of it the smaller and faster the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForSale {
    pub id: TicketId,
    pub title: String,
    pub price: Price,
}

impl From<api::Ticket> for ForSale {
    fn from(ticket: api::Ticket) -> Self {
        Self {
            id: ticket.id,
            title: ticket.title,
            price: ticket.price,
        }
    }
}

/// The tickets for sale, as much of each as the page shows.
#[server(prefix = "/_fn", endpoint = "list_tickets")]
pub async fn list_tickets() -> Result<Vec<ForSale>, AppError> {
    let tickets: Vec<api::Ticket> = crate::api::backend::get(contract::routes::TICKETS).await?;
    Ok(tickets.into_iter().map(ForSale::from).collect())
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
fn TicketCard(ticket: ForSale) -> impl IntoView {
    let href = format!("/tickets/{}", ticket.id);
    view! {
        <li class="ticket-card card">
            <h2 class="ticket-title"><a href=href.clone()>{ticket.title}</a></h2>
            <p class="price">{dollars(ticket.price)}</p>
            <a href=href class="button" aria-hidden="true" tabindex="-1">"View"</a>
        </li>
    }
}
