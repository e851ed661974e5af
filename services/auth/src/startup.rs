use axum::Router;
use axum::extract::FromRef;
use common::db::Db;
use common::outbox::Outbox;
use common::service::Service;
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

/// The auth service, connected and bound but not yet serving.
pub struct Application {
    service: Service,
    router: Router,
    hasher: Hasher,
}

impl Application {
    pub async fn build(config: AuthConfig) -> anyhow::Result<Self> {
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
        Ok(Self {
            service,
            router,
            hasher,
        })
    }

    /// The password hasher the routes share; its stats show what it has done.
    pub fn hasher(&self) -> Hasher {
        self.hasher.clone()
    }

    pub fn port(&self) -> u16 {
        self.service.port()
    }

    pub fn shutdown_token(&self) -> tokio_util::sync::CancellationToken {
        self.service.shutdown.clone()
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.service.run(self.router).await
    }
}
