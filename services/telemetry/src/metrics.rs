//! Prometheus metrics: the `metrics` crate's macros record, `metrics-exporter-prometheus`
//! renders the text format at `/metrics` ([`router`]).
//!
//! Counters and histograms are recorded where things happen (requests in [`crate::http`],
//! events in `common::bus` and `common::outbox`). Gauges of state kept elsewhere (consumer
//! lag in NATS, the outbox backlog and pending expirations in SurrealDB) are read when
//! Prometheus scrapes: a process registers a [`sample`] function and `/metrics` runs every
//! one (each bounded by [`SAMPLE_TIMEOUT`]) before it renders, so a scrape shows the values
//! of that moment and nothing polls between scrapes.
//!
//! Every series carries the label `process` (`tickets`, `ingress`, `web`, …). The names are
//! listed in [`NAMES`]; the Grafana dashboard in `deploy/grafana/` uses them and a test
//! checks that it uses no other.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered, by `method`, `route` (the route pattern, never the raw path) and
/// `status`.
pub const HTTP_REQUESTS: &str = "http_requests_total";
/// Time to answer, by `method` and `route`.
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
/// The count of [`HTTP_DURATION`]'s histogram, as Prometheus shows it.
pub const HTTP_DURATION_COUNT: &str = "http_request_duration_seconds_count";
/// Events stored in JetStream by the outbox relay, by `subject`.
pub const EVENTS_PUBLISHED: &str = "events_published_total";
/// Deliveries handled, by `consumer`, `subject` and `outcome`: `done` (acknowledged),
/// `retry_later` (not applicable yet), `failed` (an outage, retried), `refused` (poison,
/// retried until set aside).
pub const EVENTS_HANDLED: &str = "events_handled_total";
/// Time a handler took, by `consumer`.
pub const EVENT_HANDLER_DURATION: &str = "event_handler_duration_seconds";
/// Redeliveries asked for (`retry_later`, `failed` and `refused` above), by `consumer`,
/// `subject` and `reason`.
pub const EVENTS_RETRIED: &str = "events_retried_total";
/// Events set aside in the dead-letter stream, by `consumer` and `subject`.
pub const EVENTS_SET_ASIDE: &str = "events_set_aside_total";
/// Set-aside events still kept in the dead-letter stream, for this service (sampled).
pub const DEAD_LETTERS: &str = "dead_letters";
/// Events not yet delivered to a consumer, by `consumer` (sampled from JetStream).
pub const CONSUMER_PENDING: &str = "event_consumer_pending";
/// Events delivered and not yet acknowledged, by `consumer` (sampled).
pub const CONSUMER_ACK_PENDING: &str = "event_consumer_ack_pending";
/// Committed events not yet published (sampled from the outbox table).
pub const OUTBOX_BACKLOG: &str = "outbox_backlog";
/// Orders the expiration service will expire (sampled).
pub const EXPIRATIONS_PENDING: &str = "expirations_pending";
/// Payment attempts by `state` (sampled).
pub const PAYMENT_ATTEMPTS: &str = "payment_attempts";

/// Every metric name, for the dashboard test.
pub const NAMES: &[&str] = &[
    HTTP_REQUESTS,
    HTTP_DURATION,
    EVENTS_PUBLISHED,
    EVENTS_HANDLED,
    EVENT_HANDLER_DURATION,
    EVENTS_RETRIED,
    EVENTS_SET_ASIDE,
    DEAD_LETTERS,
    CONSUMER_PENDING,
    CONSUMER_ACK_PENDING,
    OUTBOX_BACKLOG,
    EXPIRATIONS_PENDING,
    PAYMENT_ATTEMPTS,
];

/// How long one sample function may take before the scrape goes on without it.
pub const SAMPLE_TIMEOUT: Duration = Duration::from_secs(2);

/// Latency buckets, in seconds: 0.5 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

type Sample = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
static SAMPLES: Mutex<Vec<Sample>> = Mutex::new(Vec::new());

/// How often recorded latencies are folded into their histograms. Until then each one is
/// kept as it came, so without this a process nobody scrapes would hold every latency it
/// ever recorded.
pub const UPKEEP: Duration = Duration::from_secs(5);

/// Installs the global recorder with the `process` label, and (on a Tokio runtime) the
/// task that keeps its histograms folded ([`UPKEEP`]); later calls change nothing.
pub fn install(process: &'static str) {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .add_global_label("process", process)
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .expect("the latency buckets are not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed");
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let handle = handle.clone();
            runtime.spawn(async move {
                let mut every = tokio::time::interval(UPKEEP);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    handle.run_upkeep();
                }
            });
        }
        handle
    });
}

/// Whether metrics are recorded in this process.
pub fn enabled() -> bool {
    HANDLE.get().is_some()
}

/// Registers `sample`, run before every render of `/metrics` to set gauges from state kept
/// elsewhere (see the module docs). Nothing is registered while metrics are off.
pub fn sample<F, Fut>(sample: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    if !enabled() {
        return;
    }
    let sample: Sample = Arc::new(move || Box::pin(sample()));
    SAMPLES.lock().expect("samples lock").push(sample);
}

/// Runs the sample functions, then renders every metric in the Prometheus text format;
/// `None` while metrics are off.
pub async fn render() -> Option<String> {
    let handle = HANDLE.get()?;
    let samples: Vec<Sample> = SAMPLES.lock().expect("samples lock").clone();
    futures::future::join_all(samples.iter().map(|sample| async move {
        if tokio::time::timeout(SAMPLE_TIMEOUT, sample())
            .await
            .is_err()
        {
            tracing::warn!("a metrics sample took longer than {SAMPLE_TIMEOUT:?}; skipped");
        }
    }))
    .await;
    handle.run_upkeep();
    Some(handle.render())
}

async fn metrics() -> Response {
    match render().await {
        Some(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "metrics are off (GITTIX_METRICS=off)\n",
        )
            .into_response(),
    }
}

/// `GET /metrics`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/metrics", get(metrics))
}

/// Serves `/metrics` alone on `listener` until `shutdown`, within `limits`: for the
/// processes whose main port faces the public (the ingress, the web server), which keep
/// their metrics off it.
pub async fn serve(
    listener: tokio::net::TcpListener,
    limits: http_limits::HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    http_limits::serve(listener, router::<()>(), limits, shutdown).await
}
