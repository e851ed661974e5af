//! `/tickets/:id/edit`: the owner edits title and price while the ticket is not locked.

use contract::api::Ticket;
use contract::{TicketId, TicketStatus};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::ticket::{get_ticket, route_id};
use crate::api::AppError;
use crate::components::form::{Field, FormErrors, SubmitButton, field_error, form_errors};
use crate::components::require_user::RequireUser;
use crate::components::status::ErrorPage;
use crate::session::User;

#[server(prefix = "/_fn", endpoint = "update_ticket")]
pub async fn update_ticket(id: TicketId, title: String, price: String) -> Result<Ticket, AppError> {
    if !id.is_well_formed() {
        return Err(AppError::NotFound);
    }
    let form = contract::api::TicketForm {
        title,
        price: contract::PriceText(price),
    };
    let ticket: Ticket = crate::api::backend::put(&contract::routes::ticket(&id), &form).await?;
    leptos_axum::redirect(&format!("/tickets/{id}"));
    Ok(ticket)
}

#[component]
pub fn EditTicketPage() -> impl IntoView {
    view! {
        <Title text="Edit ticket"/>
        <RequireUser children=|user| view! { <EditTicket user/> }/>
    }
}

#[component]
fn EditTicket(user: User) -> impl IntoView {
    let id = route_id::<TicketId>();
    let ticket = Resource::new(move || id.get(), get_ticket);
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let user = user.clone();
                Suspend::new(async move {
                    match ticket.await {
                        Ok(ticket) if ticket.user_id != user.id => view! { <NotYours ticket/> }.into_any(),
                        Ok(ticket) => view! { <EditForm ticket/> }.into_any(),
                        Err(error) => view! { <ErrorPage error/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

#[component]
fn NotYours(ticket: Ticket) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(http::StatusCode::FORBIDDEN);
    }
    view! {
        <section class="card notice">
            <h1>"Not your ticket"</h1>
            <p>"You can only edit tickets you listed."</p>
            <p><A href=format!("/tickets/{}", ticket.id)>"Back to the ticket"</A></p>
        </section>
    }
}

#[component]
fn EditForm(ticket: Ticket) -> impl IntoView {
    let action = ServerAction::<UpdateTicket>::new();
    let value = action.value();
    let locked = ticket.status != TicketStatus::Available;
    let back = format!("/tickets/{}", ticket.id);
    let (id, title, price) = (
        ticket.id.into_string(),
        ticket.title,
        ticket.price.to_string(),
    );
    view! {
        <section class="card narrow">
            <h1>"Edit ticket"</h1>
            {locked.then(|| view! {
                <p class="form-errors" role="alert">"Cannot edit a reserved ticket"</p>
            })}
            <ActionForm action=action attr:novalidate=true attr:class="form">
                <input type="hidden" name="id" value=id/>
                <Field label="Title" name="title" value=title error=field_error(value, "title")/>
                <Field label="Price (USD)" name="price" kind="number" step="0.01" min="0.01"
                    value=price error=field_error(value, "price")/>
                <FormErrors errors=form_errors(value, &["title", "price"])/>
                <SubmitButton label="Save" pending_label="Saving…" pending=action.pending()/>
            </ActionForm>
            <p class="aside"><A href=back>"Cancel"</A></p>
        </section>
    }
}
