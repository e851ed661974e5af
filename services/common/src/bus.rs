//! The event bus on NATS JetStream.
//!
//! - One stream, [`STREAM`], holds every domain event; a second one, [`DEAD_LETTER_STREAM`],
//!   keeps events a consumer set aside, for inspection. Both are created idempotently.
//! - [`Bus::publish`] waits for JetStream's acknowledgement and sets the event id as
//!   `Nats-Msg-Id`, so a re-publish inside the duplicate window is dropped by the server.
//! - [`listen`] runs one durable pull consumer per (service, event), shared by all instances
//!   of the service, with explicit acks (see [`crate::bus::Outcome`]).
//!
//! Outages are waited out, poison is set aside. A handler error is an infrastructure failure
//! (the database, a provider, the network) unless its cause chain holds a [`Poison`]: the
//! event is redelivered with a growing delay (at most [`MAX_RETRY_DELAY`]) for as long as the
//! outage lasts, and never set aside; so is an event that is not applicable yet
//! ([`Outcome::RetryLater`]). An event that fails on its content ([`Poison`]) is retried until
//! its delivery count reaches [`ListenOptions::max_deliveries`], one that does not parse not at
//! all; then it is kept in [`DEAD_LETTER_STREAM`] and the consumer moves on. Operators list,
//! inspect and replay set-aside events with [`crate::deadletter`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{self, StorageType};
use async_nats::jetstream::{self, AckKind, Message};
use bytes::Bytes;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::deadletter;
use crate::events::{Event, STREAM};

pub mod access;

/// The stream of events that consumers set aside.
pub const DEAD_LETTER_STREAM: &str = "DEADLETTER";
/// Subjects of set-aside events: `deadletter.<service>.<original subject>`.
pub const DEAD_LETTER_PREFIX: &str = "deadletter";
/// How long the events stream keeps an event: a consumer may see it (redelivered, or
/// replayed) until then, so state kept to recognise it must live at least as long.
pub const EVENT_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// How long JetStream remembers message ids to drop re-published duplicates.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(60 * 60);
/// Deliveries of one poison event (see [`Poison`]) to one consumer before it is set aside.
/// With the doubling delays this is several minutes of retrying.
pub const MAX_DELIVERIES: i64 = 20;
/// The longest wait between two deliveries of an event that asked to be retried.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// A NATS user and its password (`NATS_USER`, `NATS_PASSWORD`).
#[derive(Clone, PartialEq, Eq)]
pub struct NatsUser {
    pub name: String,
    pub password: String,
}

impl std::fmt::Debug for NatsUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsUser")
            .field("name", &self.name)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// The user and password written in a NATS URL (`nats://user:password@host:port`), which
/// the NATS client itself does not read.
pub fn user_in_url(url: &str) -> Option<NatsUser> {
    let first = url.split(',').next()?;
    let address: async_nats::ServerAddr = first.trim().parse().ok()?;
    Some(NatsUser {
        name: address.username()?.to_owned(),
        password: address.password()?.to_owned(),
    })
}

/// A connection to NATS with its JetStream context.
#[derive(Clone)]
pub struct Bus {
    client: async_nats::Client,
    js: jetstream::Context,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("state", &self.client.connection_state())
            .finish()
    }
}

impl Bus {
    /// Connects (retrying in the background until NATS is reachable) and makes sure the
    /// streams exist, with one copy of each event. A user and password in `url`
    /// (`nats://user:password@host:port`) sign in.
    pub async fn connect(url: &str, client_name: &str) -> anyhow::Result<Self> {
        Self::connect_as(url, client_name, user_in_url(url).as_ref(), 1).await
    }

    /// As [`Bus::connect`], signed in as `user` (whose replies arrive under its own inbox
    /// prefix, see [`access`]), creating the streams with `replicas` copies of each event (on
    /// a NATS cluster).
    pub async fn connect_as(
        url: &str,
        client_name: &str,
        user: Option<&NatsUser>,
        replicas: usize,
    ) -> anyhow::Result<Self> {
        let mut options = async_nats::ConnectOptions::new();
        if let Some(user) = user {
            options = options
                .user_and_password(user.name.clone(), user.password.clone())
                .custom_inbox_prefix(access::inbox_prefix(&user.name));
        }
        // A cluster is given as its servers' addresses, comma-separated.
        let servers = url
            .split(',')
            .map(|server| server.trim().parse::<async_nats::ServerAddr>())
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("reading the NATS address {url:?}"))?;
        let client = options
            .name(client_name)
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(5))
            .event_callback(|event| async move {
                tracing::info!(%event, "nats connection event");
            })
            .connect(servers)
            .await
            .with_context(|| format!("connecting to NATS at {url}"))?;
        let js = jetstream::new(client.clone());
        let bus = Self { client, js };
        bus.ensure_streams(replicas).await?;
        Ok(bus)
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Creates the event and dead-letter streams if they are missing; retries until NATS
    /// answers, since a service may start before NATS does.
    pub async fn ensure_streams(&self, replicas: usize) -> anyhow::Result<()> {
        let configs = [
            stream::Config {
                name: STREAM.to_owned(),
                subjects: vec![format!("{}.>", crate::events::SUBJECT_PREFIX)],
                storage: StorageType::File,
                duplicate_window: DUPLICATE_WINDOW,
                max_age: EVENT_RETENTION,
                num_replicas: replicas,
                ..Default::default()
            },
            stream::Config {
                name: DEAD_LETTER_STREAM.to_owned(),
                subjects: vec![format!("{DEAD_LETTER_PREFIX}.>")],
                storage: StorageType::File,
                max_age: Duration::from_secs(30 * 24 * 60 * 60),
                num_replicas: replicas,
                ..Default::default()
            },
        ];
        for config in configs {
            let name = config.name.clone();
            retry_forever(&format!("creating stream {name}"), || {
                let config = config.clone();
                async move { self.js.get_or_create_stream(config).await.map(|_| ()) }
            })
            .await;
        }
        Ok(())
    }

    /// Publishes an event under its id and waits for JetStream to store it, with the current
    /// span's trace context. Returns whether the server saw it as a duplicate of an earlier
    /// publish.
    pub async fn publish<E: Event>(&self, id: &str, event: &E) -> anyhow::Result<bool> {
        let payload = serde_json::to_vec(event).context("serialising the event")?;
        self.publish_raw(E::SUBJECT, id, payload.into()).await
    }

    /// Publishes already serialised event data, with the current span's trace context.
    pub async fn publish_raw(
        &self,
        subject: &str,
        id: &str,
        payload: Bytes,
    ) -> anyhow::Result<bool> {
        let trace = telemetry::trace::traceparent();
        let ack = self
            .start_publish(subject, id, payload, trace.as_deref())
            .await?
            .await
            .with_context(|| format!("waiting for JetStream to store {subject}"))?;
        Ok(ack.duplicate)
    }

    /// Starts publishing and returns the future of JetStream's acknowledgement, so that a
    /// batch can be sent without waiting on each message in turn. `trace` (a W3C
    /// `traceparent`) goes in the message's headers for the consumers to continue.
    pub async fn start_publish(
        &self,
        subject: &str,
        id: &str,
        payload: Bytes,
        trace: Option<&str>,
    ) -> anyhow::Result<jetstream::context::PublishAckFuture> {
        let mut message = PublishMessage::build().payload(payload).message_id(id);
        if let Some(trace) = trace {
            message = message.header(telemetry::trace::TRACEPARENT, trace);
        }
        self.js
            .send_publish(subject.to_owned(), message)
            .await
            .with_context(|| format!("publishing {subject}"))
    }
}

/// What a handler decided about one delivery. A handler that fails returns an error instead:
/// a [`Poison`] error when the event itself is at fault, any other error when something it
/// depends on is (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handled (or a duplicate/stale event, safely ignored): acknowledge.
    Done,
    /// Not yet applicable (e.g. a replica waits for an earlier version, which at-least-once
    /// delivery will bring): negative ack, redelivered after this delay, doubled on each
    /// further delivery (at most [`MAX_RETRY_DELAY`]), for as long as it takes. Never set
    /// aside: the awaited event arrives, or is itself set aside as poison and replayed by an
    /// operator.
    RetryLater(Duration),
}

/// A handler error meaning "this event fails on its content; retrying will not help". Put it
/// in a handler error's cause chain (`Err(Poison::new(..).into())`, [`poison`], or as the
/// source of a service's own error) and the event is set aside after
/// [`ListenOptions::max_deliveries`] instead of being retried until it succeeds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Poison {
    reason: String,
}

impl Poison {
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The `Poison` in `error`'s cause chain, if there is one.
    pub fn find(error: &anyhow::Error) -> Option<&Self> {
        error.chain().find_map(|cause| cause.downcast_ref::<Self>())
    }
}

/// A handler error for an event that fails on its content: `return Err(poison("no such
/// ticket"))`.
pub fn poison(reason: impl Into<String>) -> anyhow::Error {
    Poison::new(reason).into()
}

/// About one delivery of an event.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The event id (`Nats-Msg-Id`), if the publisher set one.
    pub event_id: Option<String>,
    /// 1 on the first delivery.
    pub delivered: i64,
    pub stream_sequence: u64,
}

/// A service's handler for one kind of event. Handlers must be idempotent: delivery is
/// at-least-once.
pub trait Listener<E: Event>: Send + Sync + 'static {
    fn handle(
        &self,
        event: E,
        delivery: &Delivery,
    ) -> impl Future<Output = anyhow::Result<Outcome>> + Send;
}

/// The durable consumer name of `service` for event `E`, e.g. `orders-ticket-created`.
pub fn consumer_name<E: Event>(service: &str) -> String {
    format!("{service}-{}", E::NAME.replace(':', "-"))
}

/// Consumer settings; the defaults suit production, tests shorten the waits.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    /// How long JetStream waits for an ack before redelivering.
    pub ack_wait: Duration,
    /// Deliveries before a poison event (see [`Poison`]) is set aside. Other failures are
    /// retried for as long as they last.
    pub max_deliveries: i64,
    /// Delay before redelivery after a handler error, per delivery so far.
    pub retry_base: Duration,
}

impl Default for ListenOptions {
    fn default() -> Self {
        Self {
            ack_wait: Duration::from_secs(30),
            max_deliveries: MAX_DELIVERIES,
            retry_base: Duration::from_millis(250),
        }
    }
}

/// Consumes event `E` for `service` until `shutdown` is cancelled. Reconnects and recreates
/// its consumer as needed, so a NATS restart only pauses it. A consumer left by an earlier
/// version gets the current settings (see [`consumer_config`]).
pub async fn listen<E, L>(
    bus: Bus,
    service: &'static str,
    listener: Arc<L>,
    options: ListenOptions,
    shutdown: CancellationToken,
) where
    E: Event,
    L: Listener<E>,
{
    let name = consumer_name::<E>(service);
    let config = consumer_config::<E>(service, &options);
    while !shutdown.is_cancelled() {
        let messages = async {
            let stream = bus.js.get_stream(STREAM).await?;
            let consumer = current_consumer(&stream, &config).await?;
            anyhow::Ok(consumer.messages().await?)
        }
        .await;
        let mut messages = match messages {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(consumer = %name, error = format!("{error:#}"), "consumer unavailable, retrying");
                sleep_or_shutdown(Duration::from_millis(500), &shutdown).await;
                continue;
            }
        };
        loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => return,
                next = messages.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    handle_message::<E, L>(&bus, service, &listener, &options, message).await;
                }
                Some(Err(error)) => {
                    tracing::warn!(consumer = %name, error = %error, "consumer stream error");
                    // Heartbeat and transient errors recover by themselves; anything else
                    // gets a fresh consumer.
                    if !matches!(error.kind(), pull::MessagesErrorKind::MissingHeartbeat) {
                        break;
                    }
                }
                None => break,
            }
        }
        sleep_or_shutdown(Duration::from_millis(200), &shutdown).await;
    }
}

/// The durable consumer of `service` for event `E`. Redelivery is unlimited (`max_deliver`
/// -1): the handler loop decides when an event is set aside, and an outage must never end
/// an event's redelivery.
pub fn consumer_config<E: Event>(service: &str, options: &ListenOptions) -> pull::Config {
    pull::Config {
        durable_name: Some(consumer_name::<E>(service)),
        filter_subject: E::SUBJECT.to_owned(),
        ack_policy: AckPolicy::Explicit,
        deliver_policy: DeliverPolicy::All,
        ack_wait: options.ack_wait,
        max_deliver: -1,
        ..Default::default()
    }
}

/// Gets the durable consumer `config` names, creating it if it is missing and updating its
/// redelivery settings if an earlier version created it with others (they once capped
/// deliveries at 23). Creating a durable consumer that exists updates its editable settings,
/// on nats-server 2.9 as on later ones.
async fn current_consumer(
    stream: &stream::Stream,
    config: &pull::Config,
) -> anyhow::Result<jetstream::consumer::PullConsumer> {
    let name = config.durable_name.as_deref().unwrap_or_default();
    let consumer = stream.get_or_create_consumer(name, config.clone()).await?;
    let existing = &consumer.cached_info().config;
    if existing.max_deliver == config.max_deliver && existing.ack_wait == config.ack_wait {
        return Ok(consumer);
    }
    tracing::info!(
        consumer = name,
        max_deliver = existing.max_deliver,
        ack_wait = ?existing.ack_wait,
        "updating the consumer's redelivery settings"
    );
    match stream.create_consumer(config.clone()).await {
        Ok(updated) => Ok(updated),
        Err(error) => {
            tracing::error!(
                consumer = name,
                error = %error,
                "could not update the consumer; its deliveries stay capped at {}",
                existing.max_deliver
            );
            Ok(consumer)
        }
    }
}

async fn handle_message<E, L>(
    bus: &Bus,
    service: &'static str,
    listener: &L,
    options: &ListenOptions,
    message: Message,
) where
    E: Event,
    L: Listener<E>,
{
    let (delivered, stream_sequence) = match message.info() {
        Ok(info) => (info.delivered, info.stream_sequence),
        Err(_) => (1, 0),
    };
    let event_id = message
        .headers
        .as_ref()
        .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
        .map(|v| v.as_str().to_owned());
    let delivery = Delivery {
        event_id,
        delivered,
        stream_sequence,
    };
    let span = tracing::info_span!(
        "event",
        otel.name = %format_args!("{service} receive {}", E::NAME),
        otel.kind = "consumer",
        service,
        event = E::NAME,
        subject = E::SUBJECT,
        event_id = delivery.event_id.as_deref().unwrap_or("-"),
        delivered,
    );
    if let Some(trace) = message
        .headers
        .as_ref()
        .and_then(|headers| headers.get(telemetry::trace::TRACEPARENT))
    {
        telemetry::trace::continue_from(&span, trace.as_str());
    }
    let consumer = consumer_name::<E>(service);
    let count = |outcome: &'static str| {
        metrics::counter!(
            telemetry::metrics::EVENTS_HANDLED,
            "consumer" => consumer.clone(),
            "subject" => E::SUBJECT,
            "outcome" => outcome,
        )
        .increment(1);
        if outcome != "done" {
            metrics::counter!(
                telemetry::metrics::EVENTS_RETRIED,
                "consumer" => consumer.clone(),
                "subject" => E::SUBJECT,
                "reason" => outcome,
            )
            .increment(1);
        }
    };
    async {
        let event: E = match serde_json::from_slice(&message.payload) {
            Ok(event) => event,
            Err(error) => {
                set_aside(
                    bus,
                    (service, &consumer),
                    &message,
                    &delivery,
                    &format!("unparseable: {error}"),
                )
                .await;
                return;
            }
        };
        let started = std::time::Instant::now();
        let outcome = listener.handle(event, &delivery).await;
        metrics::histogram!(
            telemetry::metrics::EVENT_HANDLER_DURATION,
            "consumer" => consumer.clone()
        )
        .record(started.elapsed().as_secs_f64());
        let result = match outcome {
            Ok(Outcome::Done) => {
                count("done");
                message.ack().await
            }
            Ok(Outcome::RetryLater(base)) => {
                count("retry_later");
                let delay = backoff(base, delivered);
                tracing::debug!(?delay, "not applicable yet, retrying later");
                message.ack_with(AckKind::Nak(Some(delay))).await
            }
            Err(error) if Poison::find(&error).is_none() => {
                count("failed");
                let delay = backoff(options.retry_base, delivered);
                tracing::warn!(
                    error = format!("{error:#}"),
                    ?delay,
                    "handler failed, retrying until it succeeds"
                );
                message.ack_with(AckKind::Nak(Some(delay))).await
            }
            Err(error) if delivered < options.max_deliveries => {
                count("refused");
                let delay = backoff(options.retry_base, delivered);
                tracing::warn!(
                    error = format!("{error:#}"),
                    ?delay,
                    "handler refused the event, retrying later"
                );
                message.ack_with(AckKind::Nak(Some(delay))).await
            }
            Err(error) => {
                set_aside(
                    bus,
                    (service, &consumer),
                    &message,
                    &delivery,
                    &format!("poison on delivery {delivered}: {error:#}"),
                )
                .await;
                return;
            }
        };
        if let Err(error) = result {
            // The event will be redelivered; handlers are idempotent.
            tracing::warn!(error = %error, "could not acknowledge the event");
        }
    }
    .instrument(span)
    .await;
}

/// `base` doubled for each delivery after the first, at most [`MAX_RETRY_DELAY`].
fn backoff(base: Duration, delivered: i64) -> Duration {
    let doublings = u32::try_from(delivered.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(16);
    base.saturating_mul(1 << doublings).min(MAX_RETRY_DELAY)
}

/// Keeps the event in the dead-letter stream, logs it with its content, and terminates its
/// delivery so the consumer moves on.
async fn set_aside(
    bus: &Bus,
    (service, consumer): (&str, &str),
    message: &Message,
    delivery: &Delivery,
    reason: &str,
) {
    let content = String::from_utf8_lossy(&message.payload);
    tracing::error!(reason, %content, "setting the event aside");
    let mut headers = HeaderMap::new();
    headers.insert(deadletter::ORIGINAL_SUBJECT, message.subject.as_str());
    headers.insert(
        deadletter::REASON,
        reason.replace(['\r', '\n'], " ").as_str(),
    );
    headers.insert(
        deadletter::DELIVERED,
        delivery.delivered.to_string().as_str(),
    );
    if let Some(id) = &delivery.event_id {
        headers.insert(deadletter::EVENT_ID, id.as_str());
    }
    let subject = format!("{DEAD_LETTER_PREFIX}.{service}.{}", message.subject);
    let kept = async {
        bus.js
            .publish_with_headers(subject, headers, message.payload.clone())
            .await?
            .await?;
        anyhow::Ok(())
    }
    .await;
    match kept {
        Ok(()) => {
            metrics::counter!(
                telemetry::metrics::EVENTS_SET_ASIDE,
                "consumer" => consumer.to_owned(),
                "subject" => message.subject.to_string(),
            )
            .increment(1);
            if let Err(error) = message.ack_with(AckKind::Term).await {
                tracing::warn!(error = %error, "could not terminate the set-aside event");
            }
        }
        Err(error) => {
            // Not kept: let it come back rather than lose it.
            tracing::error!(
                error = format!("{error:#}"),
                "could not keep the event aside; retrying later"
            );
            let _ = message
                .ack_with(AckKind::Nak(Some(Duration::from_secs(5))))
                .await;
        }
    }
}

async fn sleep_or_shutdown(duration: Duration, shutdown: &CancellationToken) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(duration) => {}
    }
}

async fn retry_forever<F, Fut, T, Err>(what: &str, mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Err>>,
    Err: std::fmt::Display,
{
    let mut delay = Duration::from_millis(100);
    loop {
        match op().await {
            Ok(value) => return value,
            Err(error) => {
                tracing::warn!(%error, ?delay, "{what} failed, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// The events `service` set aside, oldest first, as (dead-letter subject, payload) (tests; see
/// [`crate::deadletter`] for everything recorded about them).
pub async fn dead_letters(bus: &Bus, service: &str) -> anyhow::Result<Vec<(String, Bytes)>> {
    Ok(deadletter::list_for(bus, Some(service))
        .await?
        .into_iter()
        .map(|letter| (letter.stored_subject(), letter.payload))
        .collect())
}

/// `NATS_SERVER_BIN`, else `nats-server` on `PATH`, else Debian's `/usr/sbin/nats-server`.
pub fn nats_server_binary() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER_BIN") {
        return path.into();
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join("nats-server").is_file()))
        .unwrap_or(false);
    if on_path {
        "nats-server".into()
    } else {
        "/usr/sbin/nats-server".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_a_cap() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 1), Duration::from_millis(100));
        assert_eq!(backoff(base, 2), Duration::from_millis(200));
        assert_eq!(backoff(base, 4), Duration::from_millis(800));
        assert_eq!(backoff(base, 12), MAX_RETRY_DELAY);
        assert_eq!(backoff(base, i64::MAX), MAX_RETRY_DELAY);
    }

    #[test]
    fn a_poison_error_is_found_anywhere_in_the_cause_chain() {
        #[derive(Debug, thiserror::Error)]
        #[error("refusing the order")]
        struct Refused(#[source] Poison);

        let direct = poison("no such ticket");
        let with_context = poison("no such ticket").context("replicating the ticket");
        let as_source = anyhow::Error::new(Refused(Poison::new("no such ticket")));

        for error in [direct, with_context, as_source] {
            let found = Poison::find(&error).map(Poison::reason);
            assert_eq!(found, Some("no such ticket"), "{error:#}");
        }
    }

    #[test]
    fn a_user_in_the_url_signs_in() {
        let user = user_in_url("nats://admin:s3cret@127.0.0.1:4222").unwrap();
        assert_eq!(
            (user.name.as_str(), user.password.as_str()),
            ("admin", "s3cret")
        );
        assert_eq!(user_in_url("nats://127.0.0.1:4222"), None);
        assert!(!format!("{user:?}").contains("s3cret"));
    }

    #[test]
    fn any_other_error_is_no_poison() {
        let outage = anyhow::anyhow!("connection refused").context("reading the ticket");
        assert!(Poison::find(&outage).is_none());
    }
}
