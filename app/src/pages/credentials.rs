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
    next.filter(|path| is_local_path(path))
        .unwrap_or("/")
        .to_owned()
}

/// Whether `path` can only lead to a page of this site: it starts with one `/` (not `//`,
/// which is another host, nor `/\`, which browsers read as `//`), and neither it nor its
/// percent-decoded form holds a backslash, whitespace or a control character. Browsers
/// drop tabs and newlines from a URL, so `/\t/evil.example` would become
/// `//evil.example`; the decoded form is checked too because whatever reads the path next
/// may decode it once more.
fn is_local_path(path: &str) -> bool {
    let local = |bytes: &[u8]| {
        bytes.first() == Some(&b'/')
            && !matches!(bytes.get(1), Some(b'/' | b'\\'))
            && !bytes
                .iter()
                .any(|&b| b == b'\\' || b.is_ascii_whitespace() || b.is_ascii_control())
    };
    let unicode_space = path.chars().any(|c| c.is_whitespace() || c.is_control());
    !unicode_space && local(path.as_bytes()) && local(&percent_decoded(path))
}

/// `text` with every `%XX` turned into its byte; a `%` without two hex digits stays.
fn percent_decoded(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|pair| pair.iter().all(u8::is_ascii_hexdigit))
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    decoded
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
    fn paths_on_this_site_are_followed() {
        for path in [
            "/",
            "/tickets/01ABC",
            "/tickets/new",
            "/orders?x=1",
            "/orders/01ABC?paid=1",
            "/tickets/a%2Fb",
        ] {
            assert_eq!(safe_next(Some(path)), path);
        }
    }

    #[test]
    fn anything_that_could_leave_the_site_goes_home() {
        for hostile in [
            "//evil.example",
            "/\\evil",
            "/\\/evil.example",
            "/%09/evil.example",
            "/%0a/evil.example",
            "/%0D/evil.example",
            "/%20/evil.example",
            "/%5C/evil.example",
            "/\t/evil",
            "/\n/evil",
            "/ /evil",
            "/\u{3000}/evil",
            "https://evil.example",
            "javascript:alert(1)",
            "/%2F%2Fevil",
            "/%2f/evil",
            "/%5Cevil",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
