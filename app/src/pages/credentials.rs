//! What the sign-up and sign-in pages share.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::form::Field;

/// The email and password fields.
#[component]
pub fn CredentialFields(
    #[prop(into)] email_error: Signal<Option<String>>,
    #[prop(into)] password_error: Signal<Option<String>>,
    password_autocomplete: &'static str,
    #[prop(optional)] password_hint: Option<&'static str>,
) -> impl IntoView {
    view! {
        <Field label="Email" name="email" kind="email" autocomplete="email" autofocus=true error=email_error/>
        {match password_hint {
            Some(hint) => view! {
                <Field label="Password" name="password" kind="password" autocomplete=password_autocomplete hint=hint error=password_error/>
            }.into_any(),
            None => view! {
                <Field label="Password" name="password" kind="password" autocomplete=password_autocomplete error=password_error/>
            }.into_any(),
        }}
    }
}

/// Where to go after signing in: the `next` query parameter when it is a path on this
/// site, else the home page.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// The page's `next` parameter, for a hidden form input.
pub fn next_param() -> Signal<String> {
    let query = use_query_map();
    Signal::derive(move || safe_next(query.read().get("next").as_deref()))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/tickets/new")), "/tickets/new");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
