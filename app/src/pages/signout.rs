//! Signing out: a POST only (docs/spec.md §13), so that no link, image or redirect from
//! another site can sign a user out. The header's "Sign Out" button posts the form; the
//! `/auth/signout` page offers the same button and changes nothing by being opened. With
//! JavaScript the browser goes home and refreshes the header; without it, the server
//! answers the form with a redirect home.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

use crate::api::AppError;
use crate::components::form::{FormErrors, form_errors};
use crate::session::use_session;

#[server(prefix = "/_fn", endpoint = "signout")]
pub async fn sign_out() -> Result<(), AppError> {
    use contract::api::SignedOut;
    let _: SignedOut = crate::api::backend::post(contract::routes::SIGN_OUT, &SignedOut {}).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// The "Sign Out" button, a form of its own.
#[component]
pub fn SignOutForm() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let action = ServerAction::<SignOut>::new();
    Effect::new(move || {
        if action.value().with(|v| matches!(v, Some(Ok(())))) {
            session.refresh();
            navigate("/", NavigateOptions::default());
        }
    });
    view! {
        <ActionForm action=action attr:class="inline-form">
            <button type="submit" class="link-button">"Sign Out"</button>
        </ActionForm>
        <FormErrors errors=form_errors(action.value(), &[])/>
    }
}

#[component]
pub fn SignOutPage() -> impl IntoView {
    view! {
        <Title text="Sign out"/>
        <section class="card narrow">
            <h1>"Sign out"</h1>
            <p>"Sign out of GitTix on this browser?"</p>
            <SignOutForm/>
        </section>
    }
}
