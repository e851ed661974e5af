use std::net::IpAddr;
use std::time::Duration;

use common::bus::{Bus, ListenOptions};
use common::config::ServiceConfig;
use common::db::{Db, DbConfig, new_id};
use common::events::{Event, TicketCreated, TicketUpdated};
use common::money::Price;
use common::session::SessionKeys;
use common::testing::{NatsServer, TEST_JWT_KEY, eventually, published};
use orders::config::OrdersConfig;
use orders::startup::Application;
use orders::store;
use reqwest::Response;
use reqwest::header::COOKIE;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub const WINDOW: Duration = Duration::from_secs(900);
pub const MAX_OPEN_ORDERS: u32 = orders::config::DEFAULT_MAX_OPEN_ORDERS;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub keys: SessionKeys,
    pub bus: Bus,
    pub db: Db,
    shutdown: CancellationToken,
    _nats: NatsServer,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub struct User {
    pub id: String,
    pub cookie: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        common::telemetry::init_for_tests();
        let nats = NatsServer::start();
        let keys = SessionKeys::new(TEST_JWT_KEY.as_bytes(), Duration::from_secs(3600), true);
        let config = OrdersConfig {
            service: ServiceConfig {
                name: "orders",
                host: IpAddr::from([127, 0, 0, 1]),
                port: 0,
                nats_url: nats.url(),
                nats_user: None,
                nats_stream_replicas: 1,
                db: DbConfig::memory("orders"),
                session: keys.clone(),
            },
            window: WINDOW,
            max_open_orders: MAX_OPEN_ORDERS,
        };
        let listen = ListenOptions {
            retry_base: Duration::from_millis(20),
            ..ListenOptions::default()
        };
        let app = Application::build_with(config, listen)
            .await
            .expect("the app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let shutdown = app.shutdown_token();
        let db = app.db();
        tokio::spawn(app.run_until_stopped());
        let bus = Bus::connect(&nats.url(), "test").await.unwrap();
        Self {
            address,
            client: reqwest::Client::new(),
            keys,
            bus,
            db,
            shutdown,
            _nats: nats,
        }
    }

    pub fn user(&self) -> User {
        let id = new_id();
        let token = self.keys.mint(&id, &format!("{id}@example.com"));
        User {
            id,
            cookie: format!("session={token}"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    fn with_user(
        &self,
        request: reqwest::RequestBuilder,
        user: Option<&User>,
    ) -> reqwest::RequestBuilder {
        match user {
            Some(user) => request.header(COOKIE, &user.cookie),
            None => request,
        }
    }

    pub async fn create(&self, user: Option<&User>, body: &Value) -> Response {
        self.with_user(self.client.post(self.url("/api/orders")).json(body), user)
            .send()
            .await
            .unwrap()
    }

    pub async fn list(&self, user: Option<&User>) -> Response {
        self.with_user(self.client.get(self.url("/api/orders")), user)
            .send()
            .await
            .unwrap()
    }

    pub async fn show(&self, user: Option<&User>, id: &str) -> Response {
        self.with_user(
            self.client.get(self.url(&format!("/api/orders/{id}"))),
            user,
        )
        .send()
        .await
        .unwrap()
    }

    pub async fn cancel(&self, user: Option<&User>, id: &str) -> Response {
        self.with_user(
            self.client.delete(self.url(&format!("/api/orders/{id}"))),
            user,
        )
        .send()
        .await
        .unwrap()
    }

    /// The order as its buyer sees it.
    pub async fn order(&self, user: &User, id: &str) -> Value {
        let response = self.show(Some(user), id).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn order_when(
        &self,
        user: &User,
        id: &str,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(what, || async {
            let order = self.order(user, id).await;
            check(&order).then_some(order)
        })
        .await
    }

    pub async fn publish<E: Event>(&self, event: &E) {
        self.bus.publish(&new_id(), event).await.unwrap();
    }

    pub async fn events<E: Event>(&self) -> Vec<E> {
        published::<E>(&self.bus).await
    }

    pub async fn replica(&self, id: &str) -> Option<store::ReplicaTicket> {
        store::replica_ticket(&self.db, id).await.unwrap()
    }

    /// A ticket of `seller` at `cents`, replicated (version 0).
    pub async fn ticket(&self, seller: &User, cents: i64) -> String {
        let id = new_id();
        self.publish(&TicketCreated {
            id: id.clone(),
            version: 0,
            title: "Concert".into(),
            price: Price::from_cents(cents).unwrap(),
            user_id: seller.id.clone(),
        })
        .await;
        eventually("the replica", || async { self.replica(&id).await }).await;
        id
    }

    /// `buyer` orders `ticket_id`; returns the order JSON.
    pub async fn ordered(&self, buyer: &User, ticket_id: &str) -> Value {
        let response = self
            .create(Some(buyer), &json!({"ticketId": ticket_id}))
            .await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    /// Publishes the tickets service's confirmation that `order_id` holds the ticket.
    pub async fn confirm_lock(&self, ticket_id: &str, order_id: &str) {
        let replica = self.replica(ticket_id).await.expect("a replicated ticket");
        self.publish(&TicketUpdated {
            id: ticket_id.to_owned(),
            version: replica.version as u64 + 1,
            title: replica.title,
            price: Price::from_cents(replica.price).unwrap(),
            user_id: replica.user_id,
            order_id: Some(order_id.to_owned()),
        })
        .await;
        eventually("the lock in the replica", || async {
            (self.replica(ticket_id).await?.order_id.as_deref() == Some(order_id)).then_some(())
        })
        .await;
    }
}

pub async fn errors(response: Response) -> Vec<(String, Option<String>)> {
    let body: Value = response.json().await.expect("a JSON error body");
    body["errors"]
        .as_array()
        .expect("an errors array")
        .iter()
        .map(|e| {
            (
                e["message"].as_str().unwrap().to_owned(),
                e.get("field").and_then(Value::as_str).map(str::to_owned),
            )
        })
        .collect()
}

pub fn message(text: &str) -> Vec<(String, Option<String>)> {
    vec![(text.to_owned(), None)]
}

pub fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}
