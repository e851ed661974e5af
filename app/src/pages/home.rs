//! `/`: the tickets for sale. Until the tickets service arrives it greets the user.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::status::ErrorPage;
use crate::session::use_session;

#[component]
pub fn HomePage() -> impl IntoView {
    let session = use_session();
    let greeting = move || {
        Suspend::new(async move {
            match session.user.await {
                Ok(Some(user)) => view! {
                    <p class="lead">"Welcome back, " <strong>{user.email}</strong> "."</p>
                }
                .into_any(),
                Err(error) => view! { <ErrorPage error/> }.into_any(),
                Ok(None) => view! {
                    <p class="lead">
                        "Buy and sell tickets to the events you love. "
                        <A href="/auth/signup">"Create an account"</A> " or "
                        <A href="/auth/signin">"sign in"</A> " to get started."
                    </p>
                }
                .into_any(),
            }
        })
    };
    view! {
        <Title text="Tickets for sale"/>
        <section class="hero">
            <h1>"GitTix"</h1>
            <Transition>{greeting}</Transition>
        </section>
    }
}
