//! Whole-page states: not found, and the services being unreachable. On the server they
//! also set the HTTP status of the response.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::AppError;

fn set_status(_code: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(options), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(_code),
    ) {
        options.set_status(status);
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    set_status(404);
    view! {
        <Title text="Not found"/>
        <section class="card notice">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address."</p>
            <p><A href="/">"See the tickets for sale"</A></p>
        </section>
    }
}

/// What a page shows when loading its data failed.
#[component]
pub fn ErrorPage(error: AppError) -> impl IntoView {
    match error {
        AppError::NotFound => view! { <NotFound/> }.into_any(),
        AppError::Unavailable => {
            set_status(503);
            view! {
                <Title text="Temporarily unavailable"/>
                <section class="card notice">
                    <h1>"We'll be right back"</h1>
                    <p>{AppError::Unavailable.to_string()}</p>
                    <p><a href="">"Try again"</a></p>
                </section>
            }
            .into_any()
        }
        other => {
            set_status(500);
            view! {
                <Title text="Something went wrong"/>
                <section class="card notice">
                    <h1>"Something went wrong"</h1>
                    <p>{other.to_string()}</p>
                    <p><A href="/">"Back to the tickets"</A></p>
                </section>
            }
            .into_any()
        }
    }
}
