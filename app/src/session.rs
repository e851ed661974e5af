//! Who is signed in: read from `GET /api/users/currentuser` while the page renders on the
//! server (so the first HTML is already right) and again after sign-in or sign-out.

use contract::api::SessionUser;
use leptos::prelude::*;

use crate::api::AppError;

/// The cookie the services keep the session in.
pub const SESSION_COOKIE: &str = "session";

/// The signed-in user, as the session says.
pub type User = SessionUser;

#[server(prefix = "/_fn", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<User>, AppError> {
    // Without a session cookie nobody is signed in: no need to ask.
    if !crate::api::backend::sends_cookie(SESSION_COOKIE) {
        return Ok(None);
    }
    let body: contract::api::CurrentUser =
        crate::api::backend::get(contract::routes::CURRENT_USER).await?;
    Ok(body.current_user)
}

/// The session as the whole app sees it.
#[derive(Clone, Copy)]
pub struct Session {
    /// `Ok(None)` when signed out.
    pub user: Resource<Result<Option<User>, AppError>>,
    epoch: RwSignal<u64>,
}

impl Session {
    /// Creates the session resource and provides it to every component below.
    pub fn provide() -> Self {
        let epoch = RwSignal::new(0_u64);
        let session = Self {
            user: Resource::new(move || epoch.get(), |_| current_user()),
            epoch,
        };
        provide_context(session);
        session
    }

    /// Reads the user again (after signing in or out).
    pub fn refresh(&self) {
        self.epoch.update(|n| *n += 1);
    }
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}
