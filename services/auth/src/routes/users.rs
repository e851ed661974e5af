//! `/api/users`: sign-up, sign-in, sign-out and the current user (docs/spec.md §4).

use axum::extract::{FromRef, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as AxumJson, Router};
use common::contract::{api, routes};
use common::db::{self, new_id};
use common::error::collect_fields;
use common::extract::{Field, Json};
use common::session::{CurrentUser, SessionKeys};
use serde::Deserialize;

use crate::domain::{Email, GivenPassword, NewPassword};
use crate::error::AuthError;
use crate::limits::ClientAddress;
use crate::password::HashError;
use crate::startup::AppState;
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::SIGN_UP, post(signup))
        .route(routes::SIGN_IN, post(signin))
        .route(routes::SIGN_OUT, post(signout))
        .route(routes::CURRENT_USER, get(current_user))
}

#[derive(Debug, Deserialize)]
pub struct CredentialsBody {
    email: Field,
    password: Field,
}

fn signed_in(status: StatusCode, keys: &SessionKeys, id: &str, email: &str) -> Response {
    let token = keys.mint(id, email);
    (
        status,
        [(header::SET_COOKIE, keys.session_cookie(&token))],
        AxumJson(api::User {
            id: id.into(),
            email: email.to_owned(),
        }),
    )
        .into_response()
}

#[tracing::instrument(skip_all)]
async fn signup(
    State(state): State<AppState>,
    client: ClientAddress,
    Json(body): Json<CredentialsBody>,
) -> Result<Response, AuthError> {
    let (email, password) = collect_fields((
        Email::parse(&body.email),
        NewPassword::parse(&body.password),
    ))?;
    // The address's budget first: a throttled address learns nothing, not even which
    // emails have accounts.
    state.signup_limiter.check(client.0)?;
    // Saves hashing for the common case; the unique index decides races.
    if store::find_by_email(&state.db, &email).await?.is_some() {
        return Err(AuthError::EmailInUse);
    }
    let hash = match state.hasher.hash(password.expose()).await {
        Ok(hash) => hash,
        Err(HashError::Busy) => {
            // Our capacity, not the client's doing: the sign-up does not count.
            state.signup_limiter.refund(client.0);
            return Err(AuthError::Busy);
        }
        Err(error) => return Err(error.into()),
    };
    let id = new_id();
    match store::insert(&state.outbox, &id, &email, hash).await {
        Ok(()) => {}
        Err(error) if db::is_duplicate(&error) => return Err(AuthError::EmailInUse),
        Err(error) => return Err(error.into()),
    }
    tracing::info!(user_id = %id, "signed up");
    let keys = SessionKeys::from_ref(&state);
    Ok(signed_in(StatusCode::CREATED, &keys, &id, email.as_str()))
}

#[tracing::instrument(skip_all)]
async fn signin(
    State(state): State<AppState>,
    client: ClientAddress,
    Json(body): Json<CredentialsBody>,
) -> Result<Response, AuthError> {
    let (email, password) = collect_fields((
        Email::parse(&body.email),
        GivenPassword::parse(&body.password),
    ))?;
    // Reserves a place in the account's and the address's budgets before hashing; an
    // early return (a busy hasher, an internal error) gives it back.
    let attempt = state.limiter.check(email.as_str(), client.0)?;
    let user = store::find_by_email(&state.db, &email).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    if !state.hasher.verify(password.expose(), hash).await? {
        attempt.failed();
        return Err(AuthError::InvalidCredentials);
    }
    let user = user.expect("a verified password belongs to a stored user");
    attempt.succeeded();
    let keys = SessionKeys::from_ref(&state);
    Ok(signed_in(StatusCode::OK, &keys, &user.id, &user.email))
}

#[tracing::instrument(skip_all)]
async fn signout(State(keys): State<SessionKeys>) -> Response {
    (
        [(header::SET_COOKIE, keys.clear_cookie())],
        AxumJson(api::SignedOut {}),
    )
        .into_response()
}

#[tracing::instrument(skip_all)]
async fn current_user(CurrentUser(user): CurrentUser) -> Response {
    AxumJson(api::CurrentUser {
        current_user: user.map(Into::into),
    })
    .into_response()
}
