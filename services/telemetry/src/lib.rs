//! Logs, traces and metrics for every GitTix process (the services, the ingress, the web
//! server), set up once by [`init`].
//!
//! - **Logs**: `RUST_LOG` filters (default `info`, SurrealDB's and NATS's internals quieter);
//!   `LOG_FORMAT=json` writes one JSON object per line.
//! - **Traces**: OpenTelemetry through `tracing`. Spans are exported with OTLP over HTTP when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the standard `OTEL_*` variables apply), printed one
//!   line per span when `GITTIX_TRACE=stdout`, and not recorded at all otherwise. Trace
//!   context crosses processes as W3C `traceparent`: on HTTP (see [`http`]) and in the
//!   headers of NATS messages (see [`trace`]).
//! - **Metrics**: Prometheus text at `/metrics` (see [`metrics`]); `GITTIX_METRICS=off`
//!   turns them off.

pub mod http;
pub mod metrics;
pub mod trace;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

const DEFAULT_FILTER: &str =
    "info,surrealdb=warn,surrealdb_core=warn,surrealkv=warn,async_nats=warn";

/// Where spans go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpanExport {
    /// Not recorded: incoming trace context is passed on unchanged.
    Off,
    /// One line per finished span on standard output (`GITTIX_TRACE=stdout`).
    Stdout,
    /// OTLP over HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT`.
    Otlp,
}

impl SpanExport {
    /// From `GITTIX_TRACE` and `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`).
    pub fn from_env() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if var("GITTIX_TRACE").is_some_and(|v| v.eq_ignore_ascii_case("stdout")) {
            Self::Stdout
        } else if var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
            || var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
        {
            Self::Otlp
        } else {
            Self::Off
        }
    }
}

/// Keeps the trace exporter alive; dropping it sends the spans not yet exported.
#[must_use = "dropping it stops the trace export"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Installs logging, tracing and metrics for the process called `process` (its
/// `service.name` and its metrics' `process` label), from the environment (see the module
/// docs). Later calls change nothing.
pub fn init(process: &'static str) -> Telemetry {
    trace::install_propagator();
    if std::env::var("GITTIX_METRICS").map_or(true, |v| !v.eq_ignore_ascii_case("off")) {
        metrics::install(process);
    }
    let export = SpanExport::from_env();
    let provider = match export {
        SpanExport::Off => None,
        SpanExport::Stdout => Some(trace::provider(
            process,
            trace::LineExporter::stdout(),
            false,
        )),
        SpanExport::Otlp => match opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
        {
            Ok(exporter) => Some(trace::provider(process, exporter, true)),
            Err(error) => {
                eprintln!("OTLP trace export is off: {error}");
                None
            }
        },
    };
    // `RUST_LOG` chooses what is logged; spans are exported at `info` and above whatever it
    // says (`OTEL_SPAN_LEVEL` to change), so quieter logs never hollow out the traces.
    let logs_filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let logs = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_target(false)
            .with_filter(logs_filter)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_filter(logs_filter)
            .boxed()
    };
    let spans = provider.as_ref().map(|provider| {
        let level = std::env::var("OTEL_SPAN_LEVEL").unwrap_or_else(|_| "info".to_owned());
        // Only what a span is: no source location, thread or target attributes, which
        // cost allocations on every span and say nothing the span's name does not.
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(process))
            .with_tracked_inactivity(false)
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_level(false)
            .with_filter(EnvFilter::new(format!(
                "{level},surrealdb=off,surrealdb_core=off,surrealkv=off,async_nats=off,h2=off,hyper=off,reqwest=off,opentelemetry=off"
            )))
    });
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init();
    Telemetry { provider }
}

/// Logging for tests: captured per test (shown only when it fails), `RUST_LOG` or `info`.
pub fn init_for_tests() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_test_writer()
        .try_init();
}
