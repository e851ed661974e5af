//! `/auth/signin`: sign in, then go to the page that asked for it (or the home page).

use contract::api::User;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::credentials::{CredentialFields, next_param};
use crate::api::AppError;
use crate::components::form::{FormErrors, SubmitButton, field_error, form_errors};
use crate::session::use_session;

#[server(prefix = "/_fn", endpoint = "signin")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<User, AppError> {
    let credentials = contract::api::Credentials { email, password };
    let user = crate::api::backend::post(contract::routes::SIGN_IN, &credentials).await?;
    leptos_axum::redirect(&super::credentials::safe_next(next.as_deref()));
    Ok(user)
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let value = action.value();
    let session = use_session();
    let next = next_param();
    Effect::new(move || {
        if value.with(|v| matches!(v, Some(Ok(_)))) {
            session.refresh();
        }
    });
    view! {
        <Title text="Sign in"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <ActionForm action=action attr:novalidate=true attr:class="form">
                <input type="hidden" name="next" value=next/>
                <CredentialFields
                    email_error=field_error(value, "email")
                    password_error=field_error(value, "password")
                    password_autocomplete="current-password"
                />
                <FormErrors errors=form_errors(value, &["email", "password"])/>
                <SubmitButton label="Sign In" pending_label="Signing in…" pending=action.pending()/>
            </ActionForm>
            <p class="aside">"New here? " <A href="/auth/signup">"Create an account"</A></p>
        </section>
    }
}
