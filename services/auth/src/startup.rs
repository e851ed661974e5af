use axum::extract::FromRef;
use common::db::Db;
use common::outbox::Outbox;
use common::service::{App, Service};
use common::session::SessionKeys;

use crate::config::AuthConfig;
use crate::limits::{Limiter, SignupLimiter};
use crate::password::Hasher;
use crate::{routes, store};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: Db,
    pub outbox: Outbox,
    pub session: SessionKeys,
    pub hasher: Hasher,
    pub limiter: Limiter,
    pub signup_limiter: SignupLimiter,
}

/// The auth service, connected and bound but not yet serving; its extra is the password
/// hasher the routes share, whose stats show what it has done.
pub type Application = App<Hasher>;

pub async fn build(config: AuthConfig) -> anyhow::Result<Application> {
    let service = Service::start(config.service.clone(), store::SCHEMA).await?;
    let hasher = Hasher::new(config.cost, config.hashing)?;
    let state = AppState {
        db: service.db.clone(),
        outbox: service.outbox.clone(),
        session: config.service.session.clone(),
        hasher: hasher.clone(),
        limiter: Limiter::new(config.limits),
        signup_limiter: SignupLimiter::new(config.signup_limits),
    };
    let router = routes::users::router().with_state(state);
    Ok(service.into_app(router, hasher))
}
