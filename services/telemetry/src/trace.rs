//! Trace context across processes, as W3C `traceparent` text: in HTTP headers (see
//! [`crate::http`]) and in NATS message headers (the outbox stores the `traceparent` of the
//! change that staged an event, the relay sends it with the event, and the consumer's span
//! continues that trace; see `common::outbox` and `common::bus`).
//!
//! While no exporter is configured no span is recorded, [`traceparent`] is `None`, and HTTP
//! requests pass an incoming `traceparent` on unchanged.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Mutex;

use opentelemetry::KeyValue;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanId, TraceContextExt as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The header that carries trace context (W3C Trace Context).
pub const TRACEPARENT: &str = "traceparent";

/// Makes W3C trace context the process's propagation format.
pub(crate) fn install_propagator() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
}

/// A tracer provider for `process` sending finished spans to `exporter`: in batches from a
/// background thread (`batch`), or as each span ends.
pub fn provider<E: SpanExporter + 'static>(
    process: &'static str,
    exporter: E,
    batch: bool,
) -> SdkTracerProvider {
    let builder = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(process).build());
    if batch {
        builder.with_batch_exporter(exporter).build()
    } else {
        builder.with_simple_exporter(exporter).build()
    }
}

/// The `traceparent` of `span`, if it is being recorded.
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// The `traceparent` of the current span, if it is being recorded: what an event staged now
/// carries.
pub fn traceparent() -> Option<String> {
    traceparent_of(&tracing::Span::current())
}

/// Makes the remote span `traceparent` names the parent of `span`, which must not have been
/// entered yet. Does nothing for text that is no valid `traceparent`, or while spans are not
/// recorded.
pub fn continue_from(span: &tracing::Span, traceparent: &str) {
    let mut carrier = HashMap::new();
    carrier.insert(TRACEPARENT.to_owned(), traceparent.to_owned());
    let context = TraceContextPropagator::new().extract(&carrier);
    if context.span().span_context().is_valid() {
        let _ = span.set_parent(context);
    }
}

/// Sets `span`'s parent from the `traceparent` in `headers`, if there is one.
pub fn continue_from_headers(span: &tracing::Span, headers: &http::HeaderMap) {
    let context =
        TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers));
    if context.span().span_context().is_valid() {
        let _ = span.set_parent(context);
    }
}

/// Replaces the `traceparent` in `headers` with `span`'s, when `span` is being recorded, so
/// that what a request causes downstream is a child of `span`.
pub fn inject_into_headers(span: &tracing::Span, headers: &mut http::HeaderMap) {
    if let Some(traceparent) = traceparent_of(span)
        && let Ok(value) = http::HeaderValue::from_str(&traceparent)
    {
        headers.insert(TRACEPARENT, value);
    }
}

/// Prints one line per finished span (`GITTIX_TRACE=stdout`): its trace id, its own id, its
/// parent's, the process, its name, its duration and its attributes. `grep <trace id>` over
/// the local stack's output then shows one purchase from page to payment.
pub struct LineExporter {
    out: Mutex<Box<dyn std::io::Write + Send>>,
    process: Mutex<String>,
}

impl LineExporter {
    pub fn stdout() -> Self {
        Self {
            out: Mutex::new(Box::new(std::io::stdout())),
            process: Mutex::new(String::new()),
        }
    }

    /// One span as a line.
    pub fn line(process: &str, span: &SpanData) -> String {
        let duration = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default();
        let parent = if span.parent_span_id == SpanId::INVALID {
            "-".to_owned()
        } else {
            span.parent_span_id.to_string()
        };
        let mut line = format!(
            "trace={} span={} parent={parent} process={process} name={:?} duration_ms={:.3}",
            span.span_context.trace_id(),
            span.span_context.span_id(),
            span.name,
            duration.as_secs_f64() * 1000.0,
        );
        for KeyValue { key, value, .. } in &span.attributes {
            line.push_str(&format!(" {key}={value}"));
        }
        line
    }
}

impl std::fmt::Debug for LineExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineExporter").finish_non_exhaustive()
    }
}

impl SpanExporter for LineExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let process = self.process.lock().map(|p| p.clone()).unwrap_or_default();
        let mut out = self.out.lock().map_err(|_| {
            opentelemetry_sdk::error::OTelSdkError::InternalFailure("output lock".into())
        })?;
        for span in &batch {
            let _ = writeln!(out, "{}", Self::line(&process, span));
        }
        let _ = out.flush();
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(name) = resource.get(&opentelemetry::Key::from_static_str("service.name"))
            && let Ok(mut process) = self.process.lock()
        {
            *process = name.to_string();
        }
    }
}

/// Tests: a subscriber that records spans in memory, for checking parent/child links.
#[cfg(feature = "testing")]
pub mod testing {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
    use tracing_subscriber::layer::SubscriberExt as _;

    /// Spans recorded by [`Recorder::subscriber`].
    pub struct Recorder {
        exporter: InMemorySpanExporter,
        provider: SdkTracerProvider,
    }

    impl Recorder {
        /// A recorder, made this thread's subscriber until the guard is dropped: run the
        /// code under test on a current-thread runtime so that the tasks it spawns see it too.
        pub fn install(process: &'static str) -> (Self, tracing::subscriber::DefaultGuard) {
            // A global subscriber, so that no thread caches "nobody wants this span".
            crate::init_for_tests();
            let (recorder, subscriber) = Self::new(process);
            let guard = tracing::subscriber::set_default(subscriber);
            // Another test's thread may have cached "no subscriber wants this span" before
            // this one existed; ask every call site again.
            tracing::callsite::rebuild_interest_cache();
            (recorder, guard)
        }

        /// A recorder and its subscriber (see [`Recorder::install`]).
        pub fn new(process: &'static str) -> (Self, impl tracing::Subscriber + Send + Sync) {
            super::install_propagator();
            let exporter = InMemorySpanExporter::default();
            let provider = super::provider(process, exporter.clone(), false);
            let subscriber = tracing_subscriber::registry().with(
                tracing_opentelemetry::layer()
                    .with_tracer(provider.tracer(process))
                    .with_tracked_inactivity(false),
            );
            (Self { exporter, provider }, subscriber)
        }

        /// Every span finished so far.
        pub fn spans(&self) -> Vec<SpanData> {
            let _ = self.provider.force_flush();
            self.exporter.get_finished_spans().unwrap_or_default()
        }

        /// The finished span called `name`; panics listing the names seen if there is none.
        pub fn span(&self, name: &str) -> SpanData {
            let spans = self.spans();
            spans
                .iter()
                .find(|span| span.name == name)
                .cloned()
                .unwrap_or_else(|| {
                    let names: Vec<_> = spans.iter().map(|s| s.name.to_string()).collect();
                    panic!("no span {name:?} finished; seen: {names:?}")
                })
        }
    }
}
