use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use common::bus::{Bus, ListenOptions};
use common::config::ServiceConfig;
use common::db::{Db, DbConfig, new_id};
use common::events::{
    Event, OrderCancelled, OrderCompleted, OrderCreated, OrderStatus, OrderedTicket, TicketRef,
};
use common::money::Price;
use common::session::SessionKeys;
use common::testing::{NatsServer, TEST_JWT_KEY, eventually, published};
use payments::config::PaymentsConfig;
use payments::startup::Application;
use payments::store;
use reqwest::Response;
use reqwest::header::COOKIE;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

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
    /// With the sandbox gateway.
    pub async fn spawn() -> Self {
        Self::spawn_with(None).await
    }

    /// With the Stripe gateway pointed at `stripe_base`.
    pub async fn spawn_with(stripe_base: Option<&str>) -> Self {
        common::telemetry::init_for_tests();
        let nats = NatsServer::start();
        let keys = SessionKeys::new(TEST_JWT_KEY.as_bytes(), Duration::from_secs(3600), true);
        let config = PaymentsConfig {
            service: ServiceConfig {
                name: "payments",
                host: IpAddr::from([127, 0, 0, 1]),
                port: 0,
                nats_url: nats.url(),
                nats_stream_replicas: 1,
                db: DbConfig::memory("payments"),
                session: keys.clone(),
            },
            stripe_key: stripe_base.map(|_| "sk_test_standin".to_owned()),
            stripe_api_base: stripe_base.unwrap_or("https://api.stripe.com").to_owned(),
            claim_stale_secs: 120,
        };
        let listen = ListenOptions {
            retry_base: Duration::from_millis(20),
            ..ListenOptions::default()
        };
        let app = Application::build_with(config, listen)
            .await
            .expect("the app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let (shutdown, db) = (app.shutdown_token(), app.db());
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

    pub async fn pay(&self, user: Option<&User>, body: &Value) -> Response {
        let mut request = self
            .client
            .post(format!("{}/api/payments", self.address))
            .json(body);
        if let Some(user) = user {
            request = request.header(COOKIE, &user.cookie);
        }
        request.send().await.unwrap()
    }

    pub async fn publish<E: Event>(&self, event: &E) {
        self.bus.publish(&new_id(), event).await.unwrap();
    }

    pub async fn events<E: Event>(&self) -> Vec<E> {
        published::<E>(&self.bus).await
    }

    /// An open order of `buyer` for `cents`, replicated.
    pub async fn order(&self, buyer: &User, cents: i64) -> String {
        let id = new_id();
        self.publish(&OrderCreated {
            id: id.clone(),
            version: 0,
            status: OrderStatus::Created,
            user_id: buyer.id.clone(),
            expires_at: time::OffsetDateTime::now_utc() + time::Duration::minutes(15),
            ticket: OrderedTicket {
                id: new_id(),
                price: Price::from_cents(cents).unwrap(),
                version: 0,
            },
        })
        .await;
        eventually("the order in the replica", || async {
            store::order(&self.db, &id).await.unwrap()
        })
        .await;
        id
    }

    pub async fn cancel_order(&self, order_id: &str, version: u64) {
        self.publish(&OrderCancelled {
            id: order_id.to_owned(),
            version,
            ticket: TicketRef { id: "t".into() },
        })
        .await;
        eventually("the cancellation in the replica", || async {
            (store::order(&self.db, order_id).await.unwrap()?.status == "cancelled").then_some(())
        })
        .await;
    }

    pub async fn complete_order(&self, order_id: &str) {
        self.publish(&OrderCompleted {
            id: order_id.to_owned(),
            version: 1,
            ticket: TicketRef { id: "t".into() },
        })
        .await;
        eventually("the completion in the replica", || async {
            (store::order(&self.db, order_id).await.unwrap()?.status == "complete").then_some(())
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

pub fn pay_body(order_id: &str, token: &str) -> Value {
    json!({"orderId": order_id, "token": token})
}

/// One request the Stripe stand-in received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
    pub content_type: Option<String>,
    pub form: Vec<(String, String)>,
}

/// How the stand-in answers charges.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    Succeed,
    /// Like Stripe when a card is declined (402, card_error).
    Decline,
    /// 500 with no useful body.
    Fail,
    /// Succeeds after a pause.
    SlowSucceed(Duration),
}

#[derive(Clone)]
struct StandIn {
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Behaviour,
}

async fn stand_in(
    State(state): State<StandIn>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    state.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        authorization: header("authorization"),
        idempotency_key: header("idempotency-key"),
        content_type: header("content-type"),
        form: form.clone(),
    });
    if uri.path() == "/v1/refunds" {
        return axum::Json(json!({"id": "re_1", "object": "refund", "status": "succeeded"}))
            .into_response();
    }
    let token = form
        .iter()
        .find(|(k, _)| k == "source")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if token == "tok_nope" {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"type": "invalid_request_error", "message": "No such token: 'tok_nope'"}})),
        )
            .into_response();
    }
    match state.behaviour {
        Behaviour::Succeed => {}
        Behaviour::SlowSucceed(pause) => tokio::time::sleep(pause).await,
        Behaviour::Decline => {
            return (
                StatusCode::PAYMENT_REQUIRED,
                axum::Json(
                    json!({"error": {"type": "card_error", "code": "card_declined",
                    "decline_code": "generic_decline", "message": "Your card was declined."}}),
                ),
            )
                .into_response();
        }
        Behaviour::Fail => return (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response(),
    }
    let key = header("idempotency-key").unwrap_or_default();
    axum::Json(json!({"id": format!("ch_{key}"), "object": "charge", "paid": true})).into_response()
}

/// A local stand-in for Stripe's charge and refund endpoints; returns its URL and what it
/// received.
pub async fn spawn_stripe(behaviour: Behaviour) -> (String, Arc<Mutex<Vec<Received>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/v1/charges", post(stand_in))
        .route("/v1/refunds", post(stand_in))
        .with_state(StandIn {
            received: received.clone(),
            behaviour,
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}
