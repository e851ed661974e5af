//! `/auth/signout`: signs out, then goes to the home page. On a full page load the server
//! does both and answers with a redirect; after in-app navigation the browser does.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

use crate::api::AppError;
use crate::session::use_session;

#[server(prefix = "/_fn", endpoint = "signout")]
pub async fn sign_out() -> Result<(), AppError> {
    let _: serde_json::Value =
        crate::api::backend::post("/api/users/signout", &serde_json::json!({})).await?;
    Ok(())
}

#[component]
pub fn SignOutPage() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let done = Resource::new_blocking(
        || (),
        |_| async move {
            let result = sign_out().await;
            #[cfg(feature = "ssr")]
            if result.is_ok() {
                leptos_axum::redirect("/");
            }
            result
        },
    );
    Effect::new(move || {
        if done.with(|d| matches!(d, Some(Ok(())))) {
            session.refresh();
            navigate("/", NavigateOptions::default());
        }
    });
    view! {
        <Title text="Signing out"/>
        <section class="card narrow">
            <Suspense fallback=|| view! { <p>"Signing you out…"</p> }>
                {move || Suspend::new(async move {
                    match done.await {
                        Ok(()) => view! { <p>"You are signed out."</p> }.into_any(),
                        Err(error) => view! {
                            <h1>"Could not sign you out"</h1>
                            <p class="form-errors" role="alert">{error.to_string()}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
