//! The session: a JWT (HS256, claims `id`, `email`, `iat`, `exp`) in the `session` cookie,
//! minted by auth and verified locally by every service with the shared `JWT_KEY`.
//!
//! A missing, expired, forged or malformed token means anonymous, never an error.

use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The cookie that carries the session token.
pub const COOKIE_NAME: &str = "session";

/// What a session token says about its user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub id: String,
    pub email: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: i64,
}

impl From<Claims> for contract::api::SessionUser {
    fn from(claims: Claims) -> Self {
        Self {
            id: claims.id.into(),
            email: claims.email,
            iat: claims.iat,
            exp: claims.exp,
        }
    }
}

/// Mints and verifies session tokens and builds the session cookie.
#[derive(Clone)]
pub struct SessionKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime: Duration,
    secure_cookie: bool,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys")
            .field("lifetime", &self.lifetime)
            .field("secure_cookie", &self.secure_cookie)
            .finish_non_exhaustive()
    }
}

impl SessionKeys {
    pub fn new(secret: &[u8], lifetime: Duration, secure_cookie: bool) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            lifetime,
            secure_cookie,
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A token for this user, valid for the configured lifetime from now.
    pub fn mint(&self, id: &str, email: &str) -> String {
        let iat = now_unix();
        self.mint_claims(&Claims {
            id: id.to_owned(),
            email: email.to_owned(),
            iat,
            exp: iat + i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX / 2),
        })
    }

    /// A token with exactly these claims (tests use it for expired tokens).
    pub fn mint_claims(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail")
    }

    /// The claims of a valid token; `None` for anything expired, forged or malformed.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }

    /// The user of the request's session cookie, if it holds a valid token.
    pub fn current_user(&self, headers: &HeaderMap) -> Option<Claims> {
        session_token(headers).and_then(|token| self.verify(token))
    }

    /// `Set-Cookie` value that stores this token.
    pub fn session_cookie(&self, token: &str) -> HeaderValue {
        let max_age = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        self.cookie(token, time::Duration::seconds(max_age))
    }

    /// `Set-Cookie` value that removes the session.
    pub fn clear_cookie(&self) -> HeaderValue {
        self.cookie("", time::Duration::ZERO)
    }

    fn cookie(&self, value: &str, max_age: time::Duration) -> HeaderValue {
        let cookie = Cookie::build((COOKIE_NAME, value))
            .http_only(true)
            .path("/")
            .same_site(SameSite::Lax)
            .secure(self.secure_cookie)
            .max_age(max_age)
            .build();
        HeaderValue::from_str(&cookie.to_string())
            .expect("a JWT and fixed attributes are valid header characters")
    }
}

/// The `session` cookie's value among the request's `Cookie` headers.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The signed-in user, or `None` when anonymous. Never rejects.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Option<Claims>);

impl<S> FromRequestParts<S> for CurrentUser
where
    SessionKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let keys = SessionKeys::from_ref(state);
        Ok(Self(keys.current_user(&parts.headers)))
    }
}

/// The signed-in user; anonymous requests are rejected with 401 `Not authorized` before
/// the body is looked at.
#[derive(Debug, Clone)]
pub struct RequireAuth(pub Claims);

impl<S> FromRequestParts<S> for RequireAuth
where
    SessionKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let keys = SessionKeys::from_ref(state);
        keys.current_user(&parts.headers)
            .map(Self)
            .ok_or(ApiError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SessionKeys {
        SessionKeys::new(b"test-secret", Duration::from_secs(3600), true)
    }

    fn cookie_headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn a_minted_token_verifies_to_its_claims() {
        let keys = keys();
        let token = keys.mint("u1", "a@b.co");
        let claims = keys.verify(&token).expect("valid token");
        assert_eq!(claims.id, "u1");
        assert_eq!(claims.email, "a@b.co");
        assert_eq!(claims.exp - claims.iat, 3600);
    }

    #[test]
    fn an_expired_token_is_anonymous() {
        let keys = keys();
        let now = now_unix();
        let token = keys.mint_claims(&Claims {
            id: "u1".into(),
            email: "a@b.co".into(),
            iat: now - 7200,
            exp: now - 1,
        });
        assert_eq!(keys.verify(&token), None);
    }

    #[test]
    fn a_token_signed_with_another_key_is_anonymous() {
        let forged =
            SessionKeys::new(b"other-secret", Duration::from_secs(3600), true).mint("u1", "a@b.co");
        assert_eq!(keys().verify(&forged), None);
    }

    #[test]
    fn a_tampered_token_is_anonymous() {
        let keys = keys();
        let token = keys.mint("u1", "a@b.co");
        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let other_payload = keys.mint("admin", "root@b.co");
        let other_payload = other_payload.split('.').nth(1).unwrap();
        let tampered = format!("{head}.{other_payload}.{signature}");
        assert_eq!(keys.verify(&tampered), None);
    }

    #[test]
    fn garbage_and_unsigned_tokens_are_anonymous() {
        let keys = keys();
        for token in ["", "abc", "a.b.c", "eyJhbGciOiJub25lIn0.eyJpZCI6InUxIn0."] {
            assert_eq!(keys.verify(token), None, "{token}");
        }
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let headers = cookie_headers("theme=dark; session=abc.def.ghi; lang=en");
        assert_eq!(session_token(&headers), Some("abc.def.ghi"));
        assert_eq!(
            session_token(&cookie_headers("sessionx=1; xsession=2")),
            None
        );
        assert_eq!(session_token(&cookie_headers("session=")), None);
        assert_eq!(session_token(&HeaderMap::new()), None);
    }

    #[test]
    fn current_user_reads_the_cookie() {
        let keys = keys();
        let token = keys.mint("u1", "a@b.co");
        let headers = cookie_headers(&format!("session={token}"));
        assert_eq!(keys.current_user(&headers).unwrap().id, "u1");
        assert!(keys.current_user(&cookie_headers("session=nope")).is_none());
    }

    #[test]
    fn the_session_cookie_has_the_spec_flags() {
        let cookie = keys().session_cookie("tok");
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.starts_with("session=tok"), "{cookie}");
        for flag in [
            "HttpOnly",
            "Path=/",
            "SameSite=Lax",
            "Secure",
            "Max-Age=3600",
        ] {
            assert!(cookie.contains(flag), "{flag} missing in {cookie}");
        }
        let insecure = SessionKeys::new(b"k", Duration::from_secs(60), false).session_cookie("t");
        assert!(!insecure.to_str().unwrap().contains("Secure"));
    }

    #[test]
    fn the_cleared_cookie_expires_immediately() {
        let cookie = keys().clear_cookie();
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.starts_with("session=;"), "{cookie}");
        assert!(cookie.contains("Max-Age=0"), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
    }
}
