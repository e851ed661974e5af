use std::time::Duration;

use common::bus::consumer_name;
use common::contract::routes;
use common::db::{DbConfig, new_id};
use common::events::{
    Event, OrderCancelled, OrderCompleted, OrderCreated, OrderStatus, OrderedTicket, STREAM,
    TicketRef,
};
use common::money::Price;
use common::testing::{NatsServer, RunningService, eventually, published, quick_listen_options};
pub use common::testing::{TestUser as User, errors, id_of};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use tickets::config::{DEFAULT_MAX_LISTINGS_PER_HOUR, TicketsConfig};
use tickets::store::{self, OrderState};

/// The tickets service under test: its API, database and bus (see [`RunningService`]).
pub struct TestApp(RunningService);

impl std::ops::Deref for TestApp {
    type Target = RunningService;

    fn deref(&self) -> &RunningService {
        &self.0
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(tickets::listing::MAX_AGE).await
    }

    /// With a kept ticket list that only events or local writes make stale.
    pub async fn spawn_with_lasting_listing() -> Self {
        Self::spawn_with(Duration::from_secs(3600)).await
    }

    async fn spawn_with(listing_max_age: Duration) -> Self {
        common::telemetry::init_for_tests();
        let nats = NatsServer::start();
        let config = TicketsConfig {
            service: common::testing::service_config("tickets", &nats, DbConfig::memory("tickets")),
            max_listings_per_hour: DEFAULT_MAX_LISTINGS_PER_HOUR,
            listing_max_age,
        };
        let app = tickets::startup::build_with(config, quick_listen_options())
            .await
            .expect("the app builds");
        Self(RunningService::run(app, nats).await)
    }

    pub async fn create(&self, user: Option<&User>, body: &Value) -> Response {
        self.api
            .send(Method::POST, routes::TICKETS, user, Some(body))
            .await
    }

    pub async fn update(&self, user: Option<&User>, id: &str, body: &Value) -> Response {
        let path = format!("/api/tickets/{id}");
        self.api.send(Method::PUT, &path, user, Some(body)).await
    }

    pub async fn show(&self, id: &str) -> Response {
        self.api.get(&format!("/api/tickets/{id}"), None).await
    }

    pub async fn ticket(&self, id: &str) -> Value {
        let response = self.show(id).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn list(&self) -> Vec<Value> {
        let response = self.api.get(routes::TICKETS, None).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Lists a ticket for `user` and returns its JSON.
    pub async fn listed(&self, user: &User, title: &str, price: f64) -> Value {
        let response = self
            .create(Some(user), &json!({"title": title, "price": price}))
            .await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    pub async fn publish<E: Event>(&self, event: &E) {
        self.bus.publish(&new_id(), event).await.unwrap();
    }

    /// Publishes `event` and waits until the service has handled and acknowledged it, so that
    /// a test can stage the order in which events of different kinds are handled.
    pub async fn publish_handled<E: Event>(&self, event: &E) {
        let payload = serde_json::to_vec(event).unwrap();
        let stored = self
            .bus
            .start_publish(E::SUBJECT, &new_id(), payload.into(), None)
            .await
            .unwrap()
            .await
            .unwrap();
        let consumer = consumer_name::<E>("tickets");
        let what = format!("{consumer} to acknowledge event {}", stored.sequence);
        eventually(&what, || async {
            let stream = self.bus.jetstream().get_stream(STREAM).await.ok()?;
            let info = stream.consumer_info(&consumer).await.ok()?;
            (info.ack_floor.stream_sequence >= stored.sequence).then_some(())
        })
        .await;
    }

    /// What the service recorded about an order.
    pub async fn order_state(&self, order_id: &str) -> Option<OrderState> {
        store::order_state(&self.db, order_id).await.unwrap()
    }

    /// Waits until the ticket satisfies `check`, and returns it.
    pub async fn ticket_when(&self, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        eventually(what, || async {
            let ticket = self.ticket(id).await;
            check(&ticket).then_some(ticket)
        })
        .await
    }

    pub async fn events<E: Event>(&self) -> Vec<E> {
        published::<E>(&self.bus).await
    }
}

pub fn order_created(order_id: &str, ticket: &Value) -> OrderCreated {
    OrderCreated {
        id: order_id.to_owned(),
        version: 0,
        status: OrderStatus::Created,
        user_id: "buyer".to_owned(),
        expires_at: time::OffsetDateTime::now_utc() + time::Duration::minutes(15),
        ticket: OrderedTicket {
            id: ticket["id"].as_str().unwrap().to_owned(),
            price: serde_json::from_value::<Price>(ticket["price"].clone()).unwrap(),
            version: ticket["version"].as_u64().unwrap(),
        },
    }
}

pub fn order_cancelled(order_id: &str, ticket_id: &str) -> OrderCancelled {
    OrderCancelled {
        id: order_id.to_owned(),
        version: 1,
        ticket: TicketRef {
            id: ticket_id.to_owned(),
        },
    }
}

pub fn order_completed(order_id: &str, ticket_id: &str) -> OrderCompleted {
    OrderCompleted {
        id: order_id.to_owned(),
        version: 1,
        ticket: TicketRef {
            id: ticket_id.to_owned(),
        },
    }
}
