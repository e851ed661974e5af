//! How the web app talks to the services: the error type every server function returns,
//! and (on the server) the backend-for-frontend client that calls the services through the
//! ingress with the browser's session cookie.

pub use contract::api::ErrorItem;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Why a server function failed, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The service refused the input or a business rule (400): its messages, per field
    /// where it named one.
    #[error("{}", summary(.0))]
    Rejected(Vec<ErrorItem>),
    /// Not signed in, or not the owner (401).
    #[error("Not authorized")]
    Unauthorized,
    #[error("Not found")]
    NotFound,
    /// Throttled (429), with the service's message.
    #[error("{0}")]
    TooManyRequests(String),
    /// The services could not be reached (network error, 502, 503, 504).
    #[error("GitTix can't reach its services right now. Please try again in a moment.")]
    Unavailable,
    /// Anything else; details are in the server log.
    #[error("Something went wrong. Please try again.")]
    Unexpected,
}

fn summary(errors: &[ErrorItem]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

impl AppError {
    /// The message for one form field, if the service named it.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            Self::Rejected(errors) => errors
                .iter()
                .find(|e| e.field.as_deref() == Some(name))
                .map(|e| e.message.clone()),
            _ => None,
        }
    }

    /// Messages that belong to the form as a whole: those without a field, or for a field
    /// the form does not show.
    pub fn form_messages(&self, shown_fields: &[&str]) -> Vec<String> {
        match self {
            Self::Rejected(errors) => errors
                .iter()
                .filter(|e| {
                    e.field
                        .as_deref()
                        .is_none_or(|f| !shown_fields.contains(&f))
                })
                .map(|e| e.message.clone())
                .collect(),
            other => vec![other.to_string()],
        }
    }

    /// Maps a service's status and error body to what the page shows.
    pub fn from_status(status: u16, errors: Vec<ErrorItem>) -> Self {
        match status {
            400 | 409 | 413 | 422 if !errors.is_empty() => Self::Rejected(errors),
            401 | 403 => Self::Unauthorized,
            404 => Self::NotFound,
            429 => Self::TooManyRequests(
                errors
                    .first()
                    .map(|e| e.message.clone())
                    .unwrap_or_else(|| "Too many attempts, try again later".to_owned()),
            ),
            502..=504 => Self::Unavailable,
            _ => Self::Unexpected,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The browser could not reach the web server.
            ServerFnErrorErr::Request(_) => Self::Unavailable,
            _ => Self::Unexpected,
        }
    }
}

#[cfg(feature = "ssr")]
pub mod backend {
    //! The backend-for-frontend client. Every call goes through the ingress at
    //! `INGRESS_URL` (never a relative path or this server's own address), forwards the
    //! browser's session cookie (and no other cookie) and client address, and passes any
    //! `Set-Cookie` back to the browser.

    use std::time::Duration;

    use http::header::{COOKIE, SET_COOKIE};
    use http::request::Parts;
    use leptos::prelude::use_context;
    use reqwest::Method;
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use contract::api::ErrorBody;

    use super::AppError;
    use crate::session::SESSION_COOKIE;

    /// The ingress client, provided as context to every render and server function.
    #[derive(Clone, Debug)]
    pub struct Backend {
        client: reqwest::Client,
        base: String,
    }

    impl Backend {
        /// `ingress_url` is the ingress's base URL, e.g. `http://127.0.0.1:8080`.
        pub fn new(ingress_url: &str) -> Result<Self, String> {
            let base = ingress_url.trim_end_matches('/').to_owned();
            let url =
                reqwest::Url::parse(&base).map_err(|e| format!("INGRESS_URL {base:?}: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(format!(
                    "INGRESS_URL {base:?}: expected http(s)://host[:port]"
                ));
            }
            let client = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(3))
                .timeout(Duration::from_secs(30))
                // Under the services' idle keep-alive limit: a POST on a connection the
                // service is closing would fail.
                .pool_idle_timeout(http_limits::CLIENT_IDLE_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| format!("building the HTTP client: {e}"))?;
            Ok(Self { client, base })
        }
    }

    /// `GET path` and parse the JSON answer.
    pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, AppError> {
        send(Method::GET, path, None::<&()>).await
    }

    /// `POST path` with a JSON body and parse the JSON answer.
    pub async fn post<T: DeserializeOwned>(
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, AppError> {
        send(Method::POST, path, Some(body)).await
    }

    /// `PUT path` with a JSON body and parse the JSON answer.
    pub async fn put<T: DeserializeOwned>(
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, AppError> {
        send(Method::PUT, path, Some(body)).await
    }

    /// `DELETE path`; the answer's body (if any) is ignored.
    pub async fn delete(path: &str) -> Result<(), AppError> {
        let _: Option<serde_json::Value> = send(Method::DELETE, path, None::<&()>).await?;
        Ok(())
    }

    /// Whether the browser's request carries a cookie called `name` (the services would
    /// see it on every call).
    pub fn sends_cookie(name: &str) -> bool {
        use_context::<Parts>().is_some_and(|parts| cookie_pair(&parts.headers, name).is_some())
    }

    /// The first `name=value` pair called `name` in the request's `Cookie` headers, as the
    /// browser sent it.
    fn cookie_pair<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .map(str::trim)
            .find(|pair| pair.split('=').next().is_some_and(|n| n.trim() == name))
    }

    /// Sends a request to a service and returns its status and body, passing cookies both
    /// ways. Failures become the [`AppError`] the page shows.
    pub async fn send<T: DeserializeOwned>(
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, AppError> {
        let Some(backend) = use_context::<Backend>() else {
            tracing::error!("no Backend in context");
            return Err(AppError::Unexpected);
        };
        let mut request = backend
            .client
            .request(method.clone(), format!("{}{path}", backend.base));
        if let Some(parts) = use_context::<Parts>() {
            // Only the session goes to the services: the browser's other cookies (a
            // theme, an analytics id, a sibling site's cookie for the parent domain) are
            // none of their business.
            if let Some(session) = cookie_pair(&parts.headers, SESSION_COOKIE) {
                request = request.header(COOKIE, session);
            }
            // The ingress in front of this server put the browser's address here; pass it
            // on so that per-address limits see the browser, not this server.
            if let Some(address) = parts.headers.get("x-real-ip") {
                request = request.header("x-forwarded-for", address);
            }
            // The web server's span for this request put its own trace context here (see
            // `telemetry::http`): what the services do for this page joins its trace.
            if let Some(trace) = parts.headers.get("traceparent") {
                request = request.header("traceparent", trace);
            }
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(%method, path, error = %error, "the ingress is unreachable");
                return Err(AppError::Unavailable);
            }
        };
        if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
            for cookie in response.headers().get_all(SET_COOKIE) {
                options.append_header(SET_COOKIE, cookie.clone());
            }
        }
        let status = response.status();
        let bytes = response.bytes().await.map_err(|error| {
            tracing::warn!(%method, path, error = %error, "reading the answer failed");
            AppError::Unavailable
        })?;
        if status.is_success() {
            // An empty 204 reads as JSON null, so `()` and `Option` work too.
            let text: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(text).map_err(|error| {
                tracing::error!(%method, path, error = %error, "unexpected answer");
                AppError::Unexpected
            });
        }
        let errors = serde_json::from_slice::<ErrorBody>(&bytes)
            .map(|b| b.errors)
            .unwrap_or_default();
        if status.is_server_error() {
            tracing::warn!(%method, path, %status, "a service failed");
        }
        Err(AppError::from_status(status.as_u16(), errors))
    }

    #[cfg(test)]
    mod tests {
        use http::HeaderMap;
        use http::header::{COOKIE, HeaderValue};

        use super::cookie_pair;

        fn cookies(values: &[&'static str]) -> HeaderMap {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(COOKIE, HeaderValue::from_static(value));
            }
            headers
        }

        #[test]
        fn only_the_session_pair_is_kept_from_the_cookie_header() {
            let headers = cookies(&["theme=dark; session=abc.def; _ga=GA1.2"]);
            assert_eq!(cookie_pair(&headers, "session"), Some("session=abc.def"));
        }

        #[test]
        fn the_session_pair_is_found_in_any_cookie_header() {
            let headers = cookies(&["theme=dark", "session=abc"]);
            assert_eq!(cookie_pair(&headers, "session"), Some("session=abc"));
        }

        #[test]
        fn no_session_pair_means_no_cookie_to_forward() {
            for values in [&[][..], &["theme=dark"], &["sessionx=1; xsession=2"]] {
                assert_eq!(cookie_pair(&cookies(values), "session"), None, "{values:?}");
            }
        }

        #[test]
        fn the_first_session_pair_wins() {
            let headers = cookies(&["session=first; session=second"]);
            assert_eq!(cookie_pair(&headers, "session"), Some("session=first"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(message: &str, field: Option<&str>) -> ErrorItem {
        ErrorItem {
            message: message.into(),
            field: field.map(Into::into),
        }
    }

    #[test]
    fn field_messages_and_form_messages_are_split() {
        let error = AppError::Rejected(vec![
            item("Email must be valid", Some("email")),
            item("Email in use", None),
            item("Odd", Some("unknown")),
        ]);
        assert_eq!(error.field("email").as_deref(), Some("Email must be valid"));
        assert_eq!(error.field("password"), None);
        assert_eq!(
            error.form_messages(&["email", "password"]),
            ["Email in use", "Odd"]
        );
    }

    #[test]
    fn statuses_map_to_what_the_page_shows() {
        assert_eq!(AppError::from_status(401, vec![]), AppError::Unauthorized);
        assert_eq!(AppError::from_status(404, vec![]), AppError::NotFound);
        assert_eq!(AppError::from_status(502, vec![]), AppError::Unavailable);
        assert_eq!(AppError::from_status(500, vec![]), AppError::Unexpected);
        assert_eq!(
            AppError::from_status(400, vec![item("Invalid credentials", None)]),
            AppError::Rejected(vec![item("Invalid credentials", None)])
        );
        assert_eq!(
            AppError::from_status(429, vec![item("Slow down", None)]).to_string(),
            "Slow down"
        );
    }

    #[test]
    fn other_errors_are_form_messages() {
        assert_eq!(
            AppError::Unavailable.form_messages(&[]),
            ["GitTix can't reach its services right now. Please try again in a moment."]
        );
    }
}
