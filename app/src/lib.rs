//! The GitTix web app: every page and component. Rendered on the server (feature `ssr`),
//! hydrated in the browser (feature `hydrate`).

pub mod api;
pub mod components;
pub mod format;
pub mod pages;
pub mod session;

use leptos::prelude::*;
use leptos_meta::{Meta, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::components::header::Header;
use crate::components::status::NotFound;
use crate::pages::edit_ticket::EditTicketPage;
use crate::pages::home::HomePage;
use crate::pages::new_ticket::NewTicketPage;
use crate::pages::order::OrderPage;
use crate::pages::orders::OrdersPage;
use crate::pages::signin::SignInPage;
use crate::pages::signout::SignOutPage;
use crate::pages::signup::SignUpPage;
use crate::pages::ticket::TicketPage;
use crate::session::Session;

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/gittix.css"/>
        <Title formatter=|title: String| format!("{title} · GitTix")/>
        <Meta name="description" content="Buy and sell tickets to the events you love."/>
        <Router>
            <Layout/>
        </Router>
    }
}

/// Everything inside the router: the session, the header and the page.
#[component]
fn Layout() -> impl IntoView {
    Session::provide();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <Header/>
        <main id="main" class="container">
            <Routes fallback=NotFound>
                <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                <Route path=path!("/auth/signup") view=SignUpPage ssr=SsrMode::Async/>
                <Route path=path!("/auth/signin") view=SignInPage ssr=SsrMode::Async/>
                <Route path=path!("/auth/signout") view=SignOutPage ssr=SsrMode::Async/>
                <Route path=path!("/tickets/new") view=NewTicketPage ssr=SsrMode::Async/>
                <Route path=path!("/tickets/:id") view=TicketPage ssr=SsrMode::Async/>
                <Route path=path!("/tickets/:id/edit") view=EditTicketPage ssr=SsrMode::Async/>
                <Route path=path!("/orders") view=OrdersPage ssr=SsrMode::Async/>
                <Route path=path!("/orders/:id") view=OrderPage ssr=SsrMode::Async/>
            </Routes>
        </main>
        <footer class="site-footer">
            <p class="container">"GitTix — tickets from fans, for fans."</p>
        </footer>
    }
}
