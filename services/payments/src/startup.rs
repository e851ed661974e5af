use std::sync::Arc;

use axum::extract::FromRef;
use common::bus::ListenOptions;
use common::db::Db;
use common::events::{OrderCancelled, OrderCompleted, OrderCreated, PaymentCreated};
use common::outbox::Outbox;
use common::service::{App, Service};
use common::session::SessionKeys;

use crate::config::{GatewayConfig, PaymentsConfig};
use crate::events::order_cancelled::CancelOrder;
use crate::events::order_completed::CompleteOrder;
use crate::events::order_created::ReplicateOrder;
use crate::events::payment_created::RefundLatePayment;
use crate::gateway::Gateway;
use crate::gateway::sandbox::{self, Sandbox};
use crate::gateway::stripe::Stripe;
use crate::sweeper::Sweeper;
use crate::{routes, store};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: Db,
    pub outbox: Outbox,
    pub session: SessionKeys,
    pub gateway: Arc<dyn Gateway>,
    pub claim_stale_secs: i64,
}

/// How often the sweeper looks for attempts to reconcile: often enough that an attempt is
/// reconciled soon after it becomes due.
fn sweep_interval(stale_secs: i64) -> std::time::Duration {
    std::time::Duration::from_secs((stale_secs / 4).clamp(1, 30) as u64)
}

/// The payments service, connected and bound but not yet serving.
pub type Application = App;

pub async fn build(config: PaymentsConfig) -> anyhow::Result<Application> {
    build_with(config, ListenOptions::default()).await
}

/// As [`build`], with consumer settings (tests shorten the waits).
pub async fn build_with(
    config: PaymentsConfig,
    listen: ListenOptions,
) -> anyhow::Result<Application> {
    let schema = format!("{}{}", store::SCHEMA, sandbox::SCHEMA);
    let mut service = Service::start(config.service.clone(), &schema).await?;
    service.listen_options = listen;
    let gateway: Arc<dyn Gateway> = match &config.gateway {
        GatewayConfig::Stripe {
            secret_key,
            api_base,
        } => Arc::new(Stripe::new(secret_key.clone(), api_base)?),
        GatewayConfig::Sandbox => {
            tracing::warn!("payments go to the built-in sandbox: no real money is taken");
            Arc::new(Sandbox::new(service.db.clone()))
        }
    };
    tracing::info!(gateway = gateway.name(), "payment gateway");
    let state = AppState {
        db: service.db.clone(),
        outbox: service.outbox.clone(),
        session: config.service.session,
        gateway,
        claim_stale_secs: config.claim_stale_secs,
    };
    service.listen::<OrderCreated, _>(Arc::new(ReplicateOrder {
        db: state.db.clone(),
    }));
    service.listen::<OrderCancelled, _>(Arc::new(CancelOrder {
        state: state.clone(),
    }));
    service.listen::<OrderCompleted, _>(Arc::new(CompleteOrder {
        db: state.db.clone(),
    }));
    service.listen::<PaymentCreated, _>(Arc::new(RefundLatePayment {
        state: state.clone(),
    }));
    // Each order's current attempt, by the state of its intent.
    service.sample_count(
        common::telemetry::metrics::PAYMENT_ATTEMPTS,
        "SELECT count() AS n FROM payment_claim WHERE state = $value GROUP ALL",
        Some(("state", crate::store::IntentState::NAMES)),
    );
    service.relay();
    let sweeper = Sweeper {
        state: state.clone(),
    };
    let every = sweep_interval(config.claim_stale_secs);
    service.spawn(move |shutdown| sweeper.run(every, shutdown));
    let router = routes::payments::router().with_state(state);
    Ok(service.into_app(router, ()))
}
