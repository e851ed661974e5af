use std::time::Duration;

use common::contract::routes;
use common::db::new_id;
use common::session::SessionKeys;
use common::testing::eventually;
use reqwest::header::COOKIE;
use serde_json::{Value, json};
use stack::{Stack, StackConfig};

/// A running system in a temporary folder; everything is stopped when dropped.
pub struct System {
    pub stack: Stack,
    pub url: String,
    pub client: reqwest::Client,
    keys: SessionKeys,
    _dir: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

pub struct User {
    pub cookie: String,
}

/// Systems are big (a dozen processes or more): the tests take turns, so that two of them
/// never compete for the machine's cores.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl System {
    /// Starts the system with extra variables for every service.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        Self::start_scaled(&[], env).await
    }

    /// Starts the system with several instances of some services, which share their
    /// databases on a SurrealDB server.
    pub async fn start_scaled(scale: &[(&str, usize)], env: &[(&str, &str)]) -> Self {
        Self::start_with(!scale.is_empty(), scale, env).await
    }

    /// One instance of each service, on a SurrealDB server (so that tests can read every
    /// database while the services run).
    pub async fn start_on_server(env: &[(&str, &str)]) -> Self {
        Self::start_with(true, &[], env).await
    }

    /// As [`System::start_scaled`], on a JetStream cluster of three NATS servers that keeps
    /// three copies of every event.
    pub async fn start_clustered(scale: &[(&str, usize)]) -> Self {
        Self::start_on(3, true, scale, &[]).await
    }

    async fn start_with(server: bool, scale: &[(&str, usize)], env: &[(&str, &str)]) -> Self {
        Self::start_on(1, server, scale, env).await
    }

    async fn start_on(
        nats_servers: usize,
        server: bool,
        scale: &[(&str, usize)],
        env: &[(&str, &str)],
    ) -> Self {
        common::telemetry::init_for_tests();
        let turn = TURN.lock().await;
        let dir = tempfile::tempdir().unwrap();
        let mut config = StackConfig::for_tests(dir.path()).expect("the binaries are built");
        if server {
            config.storage = stack::Storage::Server;
        }
        config.nats_servers = nats_servers;
        config.scale = scale.iter().map(|(s, n)| ((*s).to_owned(), *n)).collect();
        config.env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        config.env.push(("RUST_LOG".into(), "info".into()));
        // The scenarios list hundreds of tickets and hold many orders per user; the per-user
        // limits are tested on their own in the tickets and orders services' tests.
        for limit in ["MAX_LISTINGS_PER_HOUR", "MAX_OPEN_ORDERS_PER_USER"] {
            config.env.push((limit.into(), "1000000".into()));
        }
        let keys = SessionKeys::new(config.jwt_key.as_bytes(), Duration::from_secs(3600), false);
        let stack = Stack::start(config).await.expect("the system starts");
        Self {
            url: stack.url(),
            stack,
            client: reqwest::Client::new(),
            keys,
            _dir: dir,
            _turn: turn,
        }
    }

    /// A connection to a service's database on the SurrealDB server (scaled systems).
    pub async fn database(&self, service: &str) -> common::db::Db {
        let root = self
            .stack
            .surreal_root(service)
            .expect("a SurrealDB server");
        common::db::connect(&root)
            .await
            .expect("the SurrealDB server answers")
    }

    /// A connection to the system's NATS.
    pub async fn bus(&self) -> common::bus::Bus {
        common::bus::Bus::connect(&self.stack.admin_nats_url(), "tests")
            .await
            .expect("NATS answers")
    }

    /// A user with a valid session (minted with the system's key, as auth would).
    /// Where the system keeps its data (one folder per service).
    pub fn data_dir(&self) -> std::path::PathBuf {
        self._dir.path().to_path_buf()
    }

    /// A token for a user, signed with the system's key but with these claims.
    pub fn token_with(&self, claims: &common::session::Claims) -> String {
        self.keys.mint_claims(claims)
    }

    pub fn user(&self) -> User {
        let id = new_id();
        let token = self.keys.mint(&id, &format!("{id}@example.com"));
        User {
            cookie: format!("session={token}"),
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        user: Option<&User>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.url));
        if let Some(user) = user {
            request = request.header(COOKIE, &user.cookie);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the ingress answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, user: Option<&User>) -> Value {
        let (status, body) = self.send(reqwest::Method::GET, path, user, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    pub async fn list_ticket(&self, seller: &User, title: &str, price: f64) -> Value {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                routes::TICKETS,
                Some(seller),
                Some(json!({"title": title, "price": price})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    pub async fn ticket(&self, id: &str) -> Value {
        self.get(&format!("/api/tickets/{id}"), None).await
    }

    pub async fn order(&self, buyer: &User, id: &str) -> Value {
        self.get(&format!("/api/orders/{id}"), Some(buyer)).await
    }

    /// Tries to order until the orders service has the ticket (its replica catches up a
    /// moment after the ticket is listed); returns the final answer.
    pub async fn order_when_replicated(&self, buyer: &User, ticket_id: &str) -> (u16, Value) {
        eventually("the ticket in the orders replica", || async {
            let answer = self
                .send(
                    reqwest::Method::POST,
                    routes::ORDERS,
                    Some(buyer),
                    Some(json!({"ticketId": ticket_id})),
                )
                .await;
            (answer.0 != 404).then_some(answer)
        })
        .await
    }

    /// Pays for `order_id` as `payer` with the test card once the payments service has the
    /// order (404 until then); the answer it gives after that.
    pub async fn pay_when_replicated(&self, payer: &User, order_id: &str) -> (u16, Value) {
        eventually("the order in the payments replica", || async {
            let answer = self
                .send(
                    reqwest::Method::POST,
                    routes::PAYMENTS,
                    Some(payer),
                    Some(json!({"orderId": order_id, "token": "tok_visa"})),
                )
                .await;
            (answer.0 != 404).then_some(answer)
        })
        .await
    }
}

impl System {
    /// Waits until the payments service has handled `order_id`'s `order:created`, so that
    /// its replica holds the order a payment looks up: the event's place in the stream,
    /// then the payments consumer's acknowledgements reaching it.
    pub async fn until_payments_has_order(&self, order_id: &str) {
        use common::events::{Event as _, OrderCreated, STREAM};

        let bus = self.bus().await;
        let js = bus.jetstream();
        let sequence = eventually("the order's order:created in the stream", || async {
            let mut stream = js.get_stream(STREAM).await.ok()?;
            let last = stream.info().await.ok()?.state.last_sequence;
            for sequence in (1..=last).rev() {
                let Ok(message) = stream.get_raw_message(sequence).await else {
                    continue;
                };
                let this_order = message.subject.as_str() == OrderCreated::SUBJECT
                    && serde_json::from_slice::<OrderCreated>(&message.payload)
                        .is_ok_and(|order| order.id == order_id);
                if this_order {
                    return Some(sequence);
                }
            }
            None
        })
        .await;
        let consumer = common::bus::consumer_name::<OrderCreated>("payments");
        eventually("payments to handle the order's order:created", || async {
            let stream = js.get_stream(STREAM).await.ok()?;
            let info = stream.consumer_info(&consumer).await.ok()?;
            (info.ack_floor.stream_sequence >= sequence).then_some(())
        })
        .await;
    }

    /// Starts paying for `order_id` as `payer` with `token` (e.g. `tok_slow`, which the
    /// Stripe stand-in can hold) without waiting: the answer, when it comes. Call
    /// [`System::until_payments_has_order`] first: before that the payment may find no
    /// order (404).
    pub fn pay_in_background(
        &self,
        payer: &User,
        order_id: &str,
        token: &str,
    ) -> tokio::task::JoinHandle<reqwest::Result<(u16, Value)>> {
        let request = self
            .client
            .post(format!("{}/api/payments", self.url))
            .header(COOKIE, &payer.cookie)
            .json(&json!({"orderId": order_id, "token": token}))
            .timeout(Duration::from_secs(120))
            .send();
        tokio::spawn(async move {
            let response = request.await?;
            let status = response.status().as_u16();
            Ok((status, response.json().await.unwrap_or(Value::Null)))
        })
    }
}

pub fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}
