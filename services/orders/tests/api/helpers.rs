use std::time::Duration;

use common::contract::routes;
use common::db::{DbConfig, new_id};
use common::events::{Event, TicketCreated, TicketUpdated};
use common::money::Price;
use common::testing::{NatsServer, RunningService, eventually, published, quick_listen_options};
pub use common::testing::{TestUser as User, errors, id_of, message};
use orders::config::OrdersConfig;
use orders::store;
use reqwest::{Method, Response};
use serde_json::{Value, json};

pub const WINDOW: Duration = Duration::from_secs(900);
pub const MAX_OPEN_ORDERS: u32 = orders::config::DEFAULT_MAX_OPEN_ORDERS;

/// The orders service under test: its API, database and bus (see [`RunningService`]).
pub struct TestApp(RunningService);

impl std::ops::Deref for TestApp {
    type Target = RunningService;

    fn deref(&self) -> &RunningService {
        &self.0
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        common::telemetry::init_for_tests();
        let nats = NatsServer::start();
        let config = OrdersConfig {
            service: common::testing::service_config("orders", &nats, DbConfig::memory("orders")),
            window: WINDOW,
            max_open_orders: MAX_OPEN_ORDERS,
        };
        let app = orders::startup::build_with(config, quick_listen_options())
            .await
            .expect("the app builds");
        Self(RunningService::run(app, nats).await)
    }

    pub async fn create(&self, user: Option<&User>, body: &Value) -> Response {
        self.api
            .send(Method::POST, routes::ORDERS, user, Some(body))
            .await
    }

    pub async fn list(&self, user: Option<&User>) -> Response {
        self.api.get(routes::ORDERS, user).await
    }

    pub async fn show(&self, user: Option<&User>, id: &str) -> Response {
        self.api.get(&format!("/api/orders/{id}"), user).await
    }

    pub async fn cancel(&self, user: Option<&User>, id: &str) -> Response {
        self.api
            .send(Method::DELETE, &format!("/api/orders/{id}"), user, None)
            .await
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
            price: replica.price,
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
