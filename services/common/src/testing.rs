//! Test support: a real `nats-server` on a random port with a temporary JetStream store,
//! stopped when dropped, and a helper to wait for an eventual state.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `nats-server -js` child process.
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: tempfile::TempDir,
    config: Option<std::path::PathBuf>,
}

impl NatsServer {
    /// Starts a server on a free port and waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_with_config(None)
    }

    /// Starts a server that also reads `config` (e.g. the users of
    /// [`crate::bus::access::accounts`]).
    pub fn start_with_config(config: Option<&str>) -> Self {
        let store = tempfile::tempdir().expect("temporary JetStream store");
        let config = config.map(|text| {
            let path = store.path().join("nats.conf");
            std::fs::write(&path, text).expect("writing the NATS configuration");
            path
        });
        let mut server = Self {
            child: None,
            port: free_port(),
            store,
            config,
        };
        server.spawn();
        server
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server with SIGKILL (no clean shutdown).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port with the same store.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn spawn(&mut self) {
        let mut command = Command::new(crate::bus::nats_server_binary());
        if let Some(config) = &self.config {
            command.arg("-c").arg(config);
        }
        let child = command
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-sd")
            .arg(self.store.path().join("jetstream"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server must be installed (the test command installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not start on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    crate::http::free_port().expect("a free local port")
}

/// Polls `check` until it returns `Some`, or panics with `what` after a generous deadline.
/// For eventual states (events arriving), not for timing assertions.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The JWT secret tests use.
pub const TEST_JWT_KEY: &str = "test-jwt-key-0123456789abcdef";

/// Session keys signed with [`TEST_JWT_KEY`]: hour-long sessions, `Secure` cookies.
pub fn test_session_keys() -> crate::session::SessionKeys {
    crate::session::SessionKeys::new(TEST_JWT_KEY.as_bytes(), Duration::from_secs(3600), true)
}

/// How a service's tests run it: a free port on localhost, the test NATS server, `db`, and
/// [`test_session_keys`].
pub fn service_config(
    name: &'static str,
    nats: &NatsServer,
    db: crate::db::DbConfig,
) -> crate::config::ServiceConfig {
    crate::config::ServiceConfig {
        name,
        host: std::net::IpAddr::from([127, 0, 0, 1]),
        port: 0,
        nats_url: nats.url(),
        nats_user: None,
        nats_stream_replicas: 1,
        db,
        session: test_session_keys(),
    }
}

/// Consumer settings for tests: an event whose handler asks for a retry is redelivered
/// after 20 ms instead of the production back-off.
pub fn quick_listen_options() -> crate::bus::ListenOptions {
    crate::bus::ListenOptions {
        retry_base: Duration::from_millis(20),
        ..crate::bus::ListenOptions::default()
    }
}

/// A service a test built (with [`service_config`]) running on the test's runtime against
/// its own NATS server: its HTTP API, its database, the session keys its cookies are
/// signed with and a client of the bus. Dropping it stops the service, then the NATS
/// server.
pub struct RunningService {
    pub api: ServiceClient,
    /// The service's database, to change it behind the API as another instance would.
    pub db: crate::db::Db,
    pub keys: crate::session::SessionKeys,
    pub bus: crate::bus::Bus,
    shutdown: tokio_util::sync::CancellationToken,
    _nats: NatsServer,
}

impl RunningService {
    /// Runs `app` until dropped; `nats` is the server it was configured with.
    pub async fn run<E: Send + 'static>(app: crate::service::App<E>, nats: NatsServer) -> Self {
        let api = ServiceClient::new(app.port());
        let (db, shutdown) = (app.db(), app.shutdown_token());
        tokio::spawn(app.run_until_stopped());
        let bus = crate::bus::Bus::connect(&nats.url(), "test")
            .await
            .expect("the test connects to NATS");
        Self {
            api,
            db,
            keys: test_session_keys(),
            bus,
            shutdown,
            _nats: nats,
        }
    }

    /// A new user with a valid session cookie.
    pub fn user(&self) -> TestUser {
        TestUser::signed_in(&self.keys)
    }
}

impl Drop for RunningService {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A user with a valid session: their id and the cookie to send.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub cookie: String,
}

impl TestUser {
    /// A new user id with a session minted with `keys`, as auth would.
    pub fn signed_in(keys: &crate::session::SessionKeys) -> Self {
        let id = crate::db::new_id();
        let token = keys.mint(&id, &format!("{id}@example.com"));
        Self {
            id,
            cookie: format!("session={token}"),
        }
    }
}

/// HTTP calls to a service under test, as a user or anonymously.
#[derive(Debug, Clone)]
pub struct ServiceClient {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub http: reqwest::Client,
}

impl ServiceClient {
    pub fn new(port: u16) -> Self {
        Self {
            address: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Sends `method path` with `user`'s cookie (if any) and `body` as JSON (if any).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        user: Option<&TestUser>,
        body: Option<&serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, self.url(path));
        if let Some(user) = user {
            request = request.header(reqwest::header::COOKIE, &user.cookie);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("the service answers")
    }

    pub async fn get(&self, path: &str, user: Option<&TestUser>) -> reqwest::Response {
        self.send(reqwest::Method::GET, path, user, None).await
    }
}

/// One item of an error answer: its message and, for a field's error, the field.
pub type ErrorItem = (String, Option<String>);

/// The items of an error answer, checking the common shape (`{"errors": [...]}`, each item
/// a message and perhaps a field, nothing else).
pub async fn errors(response: reqwest::Response) -> Vec<ErrorItem> {
    let body: serde_json::Value = response.json().await.expect("a JSON error body");
    body["errors"]
        .as_array()
        .expect("an errors array")
        .iter()
        .map(|e| {
            let item = e.as_object().expect("an error object");
            assert!(item.keys().all(|k| k == "message" || k == "field"), "{e}");
            (
                e["message"].as_str().expect("a message").to_owned(),
                e.get("field")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned),
            )
        })
        .collect()
}

/// An error item without a field.
pub fn message(text: &str) -> ErrorItem {
    (text.to_owned(), None)
}

/// An error item about `field`.
pub fn field(text: &str, field: &str) -> ErrorItem {
    (text.to_owned(), Some(field.to_owned()))
}

/// The `id` of a JSON answer.
pub fn id_of(value: &serde_json::Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

/// Every event of type `E` in the stream so far, oldest first (read with a throwaway
/// consumer, so it does not disturb the services' own).
pub async fn published<E: crate::events::Event>(bus: &crate::bus::Bus) -> Vec<E> {
    use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
    use futures::StreamExt;

    let stream = bus
        .jetstream()
        .get_stream(crate::events::STREAM)
        .await
        .expect("the events stream");
    let config = pull::Config {
        filter_subject: E::SUBJECT.to_owned(),
        deliver_policy: DeliverPolicy::All,
        ack_policy: AckPolicy::None,
        inactive_threshold: Duration::from_secs(30),
        ..Default::default()
    };
    // On a cluster that just lost a server, the first request may meet an election.
    let consumer = eventually("a throwaway consumer", || async {
        stream.create_consumer(config.clone()).await.ok()
    })
    .await;
    let pending = consumer.cached_info().num_pending;
    let mut events = Vec::new();
    if pending == 0 {
        return events;
    }
    let mut messages = consumer
        .fetch()
        .max_messages(usize::try_from(pending).unwrap_or(usize::MAX))
        .expires(Duration::from_secs(2))
        .messages()
        .await
        .expect("fetching events");
    while let Some(Ok(message)) = messages.next().await {
        events.push(serde_json::from_slice(&message.payload).expect("a catalogue event"));
    }
    events
}

/// Event-flow tests in a few lines: publish typed events into a service's NATS and await the
/// typed events it publishes in return.
///
/// ```no_run
/// # async fn example(bus: common::bus::Bus, order: common::events::OrderCreated) {
/// use common::events::{OrderCreated, TicketUpdated};
/// let flow = common::testing::EventFlow::start(&bus).await;
/// flow.publish(&order).await;
/// let locked: TicketUpdated = flow
///     .expect("the ticket locked for the order", |t: &TicketUpdated| {
///         t.order_id.as_deref() == Some(order.id.as_str())
///     })
///     .await;
/// # }
/// ```
///
/// Only events stored after [`EventFlow::start`] count. A wait that times out fails with
/// every event the stream received since then, so the failure shows what happened instead.
pub struct EventFlow {
    bus: crate::bus::Bus,
    /// The first stream sequence that counts.
    from: u64,
}

/// How long [`EventFlow::expect`] waits.
pub const EVENT_FLOW_TIMEOUT: Duration = Duration::from_secs(20);

impl EventFlow {
    /// Starts watching the events stream of `bus`'s NATS from now on.
    pub async fn start(bus: &crate::bus::Bus) -> Self {
        let mut stream = bus
            .jetstream()
            .get_stream(crate::events::STREAM)
            .await
            .expect("the events stream");
        let last = stream
            .info()
            .await
            .expect("the stream's state")
            .state
            .last_sequence;
        Self {
            bus: bus.clone(),
            from: last + 1,
        }
    }

    /// Publishes `event` as its publisher would (a new event id), and waits until JetStream
    /// stored it.
    pub async fn publish<E: crate::events::Event>(&self, event: &E) {
        self.bus
            .publish(&crate::db::new_id(), event)
            .await
            .unwrap_or_else(|error| panic!("publishing {}: {error:#}", E::NAME));
    }

    /// Waits (at most [`EVENT_FLOW_TIMEOUT`]) for an `E` published since the start that
    /// `matches`, and returns it. `what` says what the test waits for, in its failure.
    pub async fn expect<E: crate::events::Event>(
        &self,
        what: &str,
        matches: impl Fn(&E) -> bool,
    ) -> E {
        let (found, seen) = self.search(EVENT_FLOW_TIMEOUT, &matches).await;
        found.unwrap_or_else(|| {
            panic!(
                "timed out after {EVENT_FLOW_TIMEOUT:?} waiting for {what} ({}); the stream received instead:\n{}",
                E::NAME,
                seen.join("\n")
            )
        })
    }

    /// Checks that no `E` that `matches` is published within `wait` (for what must not
    /// happen; `wait` bounds how long the test looks).
    pub async fn expect_none<E: crate::events::Event>(
        &self,
        what: &str,
        wait: Duration,
        matches: impl Fn(&E) -> bool,
    ) {
        if let (Some(event), seen) = self.search(wait, &matches).await {
            panic!(
                "{what}: {} was published: {event:?}\nthe stream received:\n{}",
                E::NAME,
                seen.join("\n")
            );
        }
    }

    /// Reads the stream from the start until an `E` matches or `wait` passes; returns it and
    /// every event read, as `subject payload` lines.
    async fn search<E: crate::events::Event>(
        &self,
        wait: Duration,
        matches: &impl Fn(&E) -> bool,
    ) -> (Option<E>, Vec<String>) {
        use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
        use futures::StreamExt;

        let stream = self
            .bus
            .jetstream()
            .get_stream(crate::events::STREAM)
            .await
            .expect("the events stream");
        let consumer = stream
            .create_consumer(pull::Config {
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: self.from,
                },
                ack_policy: AckPolicy::None,
                inactive_threshold: Duration::from_secs(30),
                ..Default::default()
            })
            .await
            .expect("a throwaway consumer");
        let mut messages = consumer.messages().await.expect("reading the stream");
        let deadline = tokio::time::Instant::now() + wait;
        let mut seen = Vec::new();
        let found = loop {
            let next = tokio::time::timeout_at(deadline, messages.next()).await;
            let Ok(Some(Ok(message))) = next else {
                break None;
            };
            seen.push(format!(
                "  {} {}",
                message.subject,
                String::from_utf8_lossy(&message.payload)
            ));
            if message.subject.as_str() != E::SUBJECT {
                continue;
            }
            if let Ok(event) = serde_json::from_slice::<E>(&message.payload)
                && matches(&event)
            {
                break Some(event);
            }
        };
        let _ = stream.delete_consumer(&consumer.cached_info().name).await;
        (found, seen)
    }
}
