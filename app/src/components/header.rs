//! The header on every page: the brand, and the links for a signed-out or signed-in user
//! (signing out is a button: a POST, see `pages::signout`).

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::pages::signout::SignOutForm;
use crate::session::use_session;

#[component]
pub fn Header() -> impl IntoView {
    let session = use_session();
    let links = move || {
        Suspend::new(async move {
            match session.user.await {
                Ok(Some(_)) => Either::Left(view! {
                    <li><A href="/tickets/new">"Sell Tickets"</A></li>
                    <li><A href="/orders">"My Orders"</A></li>
                    <li><SignOutForm/></li>
                }),
                _ => Either::Right(view! {
                    <li><A href="/auth/signup">"Sign Up"</A></li>
                    <li><A href="/auth/signin">"Sign In"</A></li>
                }),
            }
        })
    };
    view! {
        <header class="site-header">
            <nav class="nav container" aria-label="Main">
                <A href="/" attr:class="brand">"GitTix"</A>
                <ul class="nav-links">
                    <Transition>{links}</Transition>
                </ul>
            </nav>
        </header>
    }
}
