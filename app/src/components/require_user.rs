//! Pages for signed-in users only: anyone else is sent to sign in, and brought back after.

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

use crate::components::status::ErrorPage;
use crate::session::{User, use_session};

/// Renders `children` with the signed-in user; redirects a signed-out visitor to
/// `/auth/signin?next=<this page>`.
#[component]
pub fn RequireUser<F, V>(children: F) -> impl IntoView
where
    F: Fn(User) -> V + Send + Sync + Clone + 'static,
    V: IntoView + 'static,
{
    let session = use_session();
    let location = use_location();
    view! {
        <Transition>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match session.user.await {
                        Ok(Some(user)) => children(user).into_any(),
                        Ok(None) => {
                            let here = format!("{}{}", location.pathname.get_untracked(), location.search.get_untracked());
                            let next = encode(&here);
                            view! {
                                <p>"Please sign in to continue…"</p>
                                <Redirect path=format!("/auth/signin?next={next}")/>
                            }
                            .into_any()
                        }
                        Err(error) => view! { <ErrorPage error/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// Percent-encodes a path for a query parameter.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn paths_are_encoded_for_a_query() {
        assert_eq!(encode("/tickets/new"), "/tickets/new");
        assert_eq!(encode("/a?b=c&d"), "/a%3Fb%3Dc%26d");
    }
}
