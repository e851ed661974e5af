//! The runtime every backend service shares: database with its schema and outbox, the bus,
//! the relay, the event listeners and the HTTP server, all stopped by one shutdown token.
//!
//! ```no_run
//! # async fn example(config: common::config::ServiceConfig, router: axum::Router) -> anyhow::Result<()> {
//! let mut service = common::service::Service::start(config, "DEFINE TABLE …;").await?;
//! // service.listen(Arc::new(SomeListener { … }));
//! service.run(router).await
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::bus::{self, Bus, ListenOptions, Listener};
use crate::config::{self, Env, ServiceConfig};
use crate::db::{self, Db};
use crate::events::Event;
use crate::http::{self, HttpLimits, Readiness};
use crate::outbox::{self, Outbox};

/// How often a relay looks for events other instances committed.
pub const RELAY_POLL: Duration = Duration::from_millis(500);

pub struct Service {
    pub config: ServiceConfig,
    pub db: Db,
    pub bus: Bus,
    pub outbox: Outbox,
    pub shutdown: CancellationToken,
    pub listen_options: ListenOptions,
    /// Read timeouts and the connection cap, from `HTTP_*` variables at start-up.
    pub http_limits: HttpLimits,
    listener: TcpListener,
    tasks: JoinSet<()>,
}

impl Service {
    /// Connects to the database (applying `schema` and the outbox table) and to NATS, and
    /// binds the HTTP port, and reads the HTTP limits (`HTTP_HEADER_READ_TIMEOUT_SECONDS`,
    /// `HTTP_BODY_READ_TIMEOUT_SECONDS`, `HTTP_MAX_CONNECTIONS`) from the environment.
    /// Nothing runs until [`Service::run`].
    pub async fn start(config: ServiceConfig, schema: &str) -> anyhow::Result<Self> {
        let http_limits = config::http_limits(&Env::process())?;
        let schema = format!("{schema}\n{}", outbox::SCHEMA);
        let db = db::connect_with_schema(&config.db, &schema).await?;
        let bus = Bus::connect_as(
            &config.nats_url,
            config.name,
            config.nats_user.as_ref(),
            config.nats_stream_replicas,
        )
        .await?;
        let listener = http::bind(config.host, config.port).await?;
        let service = Self {
            outbox: Outbox::new(db.clone()),
            db,
            bus,
            shutdown: CancellationToken::new(),
            listen_options: ListenOptions::default(),
            http_limits,
            listener,
            tasks: JoinSet::new(),
            config,
        };
        service.sample_count(
            telemetry::metrics::OUTBOX_BACKLOG,
            "SELECT count() AS n FROM outbox GROUP ALL",
            None,
        );
        sample_dead_letters(&service.bus, service.config.name);
        Ok(service)
    }

    /// The port actually bound (useful with `PORT=0`).
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// Starts consuming event `E` with `listener`.
    ///
    /// # Panics
    /// If the catalogue does not name this service among `E`'s consumers
    /// ([`Event::CONSUMERS`]): the documents and the README's event diagram are generated
    /// from that list, so a listener it does not know of is a mistake caught at start-up.
    pub fn listen<E: Event, L: Listener<E>>(&mut self, listener: Arc<L>) {
        assert!(
            E::CONSUMERS.contains(&self.config.name),
            "{} listens to {}, but the catalogue (services/contract/src/events.rs) does not list it among the event's consumers",
            self.config.name,
            E::NAME
        );
        self.tasks.spawn(bus::listen::<E, L>(
            self.bus.clone(),
            self.config.name,
            listener,
            self.listen_options.clone(),
            self.shutdown.clone(),
        ));
        let bus = self.bus.clone();
        let consumer = bus::consumer_name::<E>(self.config.name);
        telemetry::metrics::sample(move || sample_consumer(bus.clone(), consumer.clone()));
    }

    /// Samples the gauge `metric` from this service's database on every scrape of
    /// `/metrics` (see `telemetry::metrics`): `count_sql` is a `SELECT count() AS n FROM …
    /// GROUP ALL`. With `label`, it is run once per value with `$value` bound, and the gauge
    /// is set per value (so a state no row is in reads 0 rather than its last count).
    pub fn sample_count(
        &self,
        metric: &'static str,
        count_sql: &'static str,
        label: Option<(&'static str, &'static [&'static str])>,
    ) {
        let db = self.db.clone();
        telemetry::metrics::sample(move || {
            let db = db.clone();
            async move {
                let Some((label, values)) = label else {
                    if let Ok(count) = db::count(&db, count_sql, None).await {
                        metrics::gauge!(metric).set(count as f64);
                    }
                    return;
                };
                for value in values {
                    if let Ok(count) = db::count(&db, count_sql, Some(value)).await {
                        metrics::gauge!(metric, label => *value).set(count as f64);
                    }
                }
            }
        });
    }

    /// Starts the outbox relay.
    pub fn relay(&mut self) {
        let relay = self.outbox.relay(self.bus.clone());
        self.tasks
            .spawn(relay.run(RELAY_POLL, self.shutdown.clone()));
    }

    /// Spawns another background task that stops with the service.
    pub fn spawn<F>(&mut self, task: impl FnOnce(CancellationToken) -> F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task(self.shutdown.clone()));
    }

    /// The service with the routes it serves (and `extra`, what its tests may reach besides
    /// the database): what every service's `build` returns.
    pub fn into_app<E>(self, router: axum::Router, extra: E) -> App<E> {
        App {
            service: self,
            router,
            extra,
        }
    }

    /// What `/readyz` checks for this service.
    pub fn readiness(&self) -> Readiness {
        Readiness {
            db: Some(self.db.clone()),
            bus: Some(self.bus.clone()),
        }
    }

    /// Serves `api` (wrapped by [`http::service_router`]) until shutdown, then waits for the
    /// background tasks to stop.
    pub async fn run(mut self, api: axum::Router) -> anyhow::Result<()> {
        let router = http::service_router(api, self.readiness());
        tracing::info!(
            service = self.config.name,
            address = %self.listener.local_addr()?,
            "listening"
        );
        let served = http::serve(
            self.listener,
            router,
            self.http_limits,
            self.shutdown.clone(),
        )
        .await;
        self.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
        // The embedded datastore shuts down in the background once its last handle is
        // gone; give it a moment before the runtime stops.
        drop((self.db, self.outbox, self.bus));
        tokio::time::sleep(Duration::from_millis(300)).await;
        served.map_err(Into::into)
    }
}

/// Sets the lag gauges of `consumer` from JetStream (see `telemetry::metrics`).
async fn sample_consumer(bus: Bus, consumer: String) {
    let info = async {
        let stream = bus.jetstream().get_stream(crate::events::STREAM).await?;
        anyhow::Ok(stream.consumer_info(&consumer).await?)
    }
    .await;
    if let Ok(info) = info {
        metrics::gauge!(telemetry::metrics::CONSUMER_PENDING, "consumer" => consumer.clone())
            .set(info.num_pending as f64);
        metrics::gauge!(telemetry::metrics::CONSUMER_ACK_PENDING, "consumer" => consumer)
            .set(info.num_ack_pending as f64);
    }
}

/// Registers the sample of the set-aside events kept for `service`.
fn sample_dead_letters(bus: &Bus, service: &'static str) {
    let bus = bus.clone();
    telemetry::metrics::sample(move || {
        let bus = bus.clone();
        async move {
            if let Ok(count) = crate::deadletter::count_for(&bus, service).await {
                metrics::gauge!(telemetry::metrics::DEAD_LETTERS).set(count as f64);
            }
        }
    });
}

/// A service connected and bound, with its routes, but not yet serving; the same for every
/// service. `E` is what a service lets its tests reach besides the database (auth's password
/// hasher, expiration's scheduler), `()` for most.
pub struct App<E = ()> {
    service: Service,
    router: axum::Router,
    extra: E,
}

impl<E> App<E> {
    /// The port actually bound (useful with `PORT=0`).
    pub fn port(&self) -> u16 {
        self.service.port()
    }

    /// The service's database, for tests that look behind the API.
    pub fn db(&self) -> Db {
        self.service.db.clone()
    }

    /// Cancelling it stops the service (SIGTERM does, see `http::cancel_on_signal`).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.service.shutdown.clone()
    }

    /// See the type's documentation.
    pub fn extra(&self) -> &E {
        &self.extra
    }

    /// Serves until the shutdown token is cancelled, then drains (see [`Service::run`]).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.service.run(self.router).await
    }
}
