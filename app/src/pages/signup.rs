//! `/auth/signup`: create an account, then go to the home page.

use contract::api::User;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::credentials::CredentialFields;
use crate::api::AppError;
use crate::components::form::{FormErrors, SubmitButton, field_error, form_errors};
use crate::session::use_session;

#[server(prefix = "/_fn", endpoint = "signup")]
pub async fn sign_up(email: String, password: String) -> Result<User, AppError> {
    let credentials = contract::api::Credentials { email, password };
    let user = crate::api::backend::post(contract::routes::SIGN_UP, &credentials).await?;
    leptos_axum::redirect("/");
    Ok(user)
}

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let value = action.value();
    let session = use_session();
    Effect::new(move || {
        if value.with(|v| matches!(v, Some(Ok(_)))) {
            session.refresh();
        }
    });
    view! {
        <Title text="Sign up"/>
        <section class="card narrow">
            <h1>"Create your account"</h1>
            <ActionForm action=action attr:novalidate=true attr:class="form">
                <CredentialFields
                    email_error=field_error(value, "email")
                    password_error=field_error(value, "password")
                    password_autocomplete="new-password"
                    password_hint="4 to 20 characters"
                />
                <FormErrors errors=form_errors(value, &["email", "password"])/>
                <SubmitButton label="Sign Up" pending_label="Signing up…" pending=action.pending()/>
            </ActionForm>
            <p class="aside">"Already have an account? " <A href="/auth/signin">"Sign in"</A></p>
        </section>
    }
}
