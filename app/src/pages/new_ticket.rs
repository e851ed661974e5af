//! `/tickets/new`: list a ticket for sale (signed-in users).

use contract::api::Ticket;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::AppError;
use crate::components::form::{Field, FormErrors, SubmitButton, field_error, form_errors};
use crate::components::require_user::RequireUser;

#[server(prefix = "/_fn", endpoint = "create_ticket")]
pub async fn create_ticket(title: String, price: String) -> Result<Ticket, AppError> {
    let form = contract::api::TicketForm {
        title,
        price: contract::PriceText(price),
    };
    let ticket = crate::api::backend::post(contract::routes::TICKETS, &form).await?;
    leptos_axum::redirect("/");
    Ok(ticket)
}

#[component]
pub fn NewTicketPage() -> impl IntoView {
    view! {
        <Title text="Sell a ticket"/>
        <RequireUser children=|_user| view! { <NewTicketForm/> }/>
    }
}

#[component]
fn NewTicketForm() -> impl IntoView {
    let action = ServerAction::<CreateTicket>::new();
    let value = action.value();
    view! {
        <section class="card narrow">
            <h1>"Sell a ticket"</h1>
            <ActionForm action=action attr:novalidate=true attr:class="form">
                <Field label="Title" name="title" autofocus=true error=field_error(value, "title")/>
                <Field label="Price (USD)" name="price" kind="number" step="0.01" min="0.01"
                    hint="For example 25 or 19.99" error=field_error(value, "price")/>
                <FormErrors errors=form_errors(value, &["title", "price"])/>
                <SubmitButton label="List ticket" pending_label="Listing…" pending=action.pending()/>
            </ActionForm>
        </section>
    }
}
