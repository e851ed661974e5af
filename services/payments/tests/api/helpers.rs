use std::sync::Arc;

use common::bus::ListenOptions;
use common::contract::routes;
use common::db::{DbConfig, new_id};
use common::events::{
    Event, OrderCancelled, OrderCompleted, OrderCreated, OrderStatus, OrderedTicket, TicketRef,
};
use common::money::Price;
use common::testing::{NatsServer, RunningService, eventually, published, quick_listen_options};
pub use common::testing::{TestUser as User, errors, message};
use payments::config::{GatewayConfig, PaymentsConfig};
use payments::gateway::Gateway;
use payments::gateway::sandbox::Sandbox;
use payments::gateway::stripe::Stripe;
use payments::startup::AppState;
use payments::store;
use payments::sweeper::Sweeper;
use reqwest::{Method, Response};
use serde_json::{Value, json};

/// The payments service under test: its API, database and bus (see [`RunningService`]),
/// and the gateway it charges through.
pub struct TestApp {
    service: RunningService,
    gateway: GatewayConfig,
}

impl std::ops::Deref for TestApp {
    type Target = RunningService;

    fn deref(&self) -> &RunningService {
        &self.service
    }
}

impl TestApp {
    /// With the sandbox gateway.
    pub async fn spawn() -> Self {
        Self::spawn_with(None).await
    }

    /// With the Stripe gateway pointed at `stripe_base` (a stand-in), or the sandbox.
    pub async fn spawn_with(stripe_base: Option<&str>) -> Self {
        Self::spawn_with_options(stripe_base, ListenOptions::default().max_deliveries).await
    }

    /// As [`TestApp::spawn_with`], setting a poison event aside after `max_deliveries`.
    pub async fn spawn_with_options(stripe_base: Option<&str>, max_deliveries: i64) -> Self {
        common::telemetry::init_for_tests();
        let nats = NatsServer::start();
        let service =
            common::testing::service_config("payments", &nats, DbConfig::memory("payments"));
        let gateway = match stripe_base {
            Some(base) => GatewayConfig::Stripe {
                secret_key: "sk_test_standin".to_owned(),
                api_base: base.to_owned(),
            },
            None => GatewayConfig::Sandbox,
        };
        let config = PaymentsConfig {
            service,
            gateway: gateway.clone(),
            claim_stale_secs: 120,
        };
        let listen = ListenOptions {
            max_deliveries,
            ..quick_listen_options()
        };
        let app = payments::startup::build_with(config, listen)
            .await
            .expect("the app builds");
        Self {
            service: RunningService::run(app, nats).await,
            gateway,
        }
    }

    /// A sweeper over the service's database and gateway, as another instance runs it;
    /// its events reach NATS through the service's relay.
    pub fn sweeper(&self) -> Sweeper {
        let gateway: Arc<dyn Gateway> = match &self.gateway {
            GatewayConfig::Stripe {
                secret_key,
                api_base,
            } => Arc::new(Stripe::new(secret_key.clone(), api_base).unwrap()),
            GatewayConfig::Sandbox => Arc::new(Sandbox::new(self.db.clone())),
        };
        Sweeper {
            state: AppState {
                db: self.db.clone(),
                outbox: common::outbox::Outbox::new(self.db.clone()),
                session: self.keys.clone(),
                gateway,
                claim_stale_secs: 120,
            },
        }
    }

    pub async fn pay(&self, user: Option<&User>, body: &Value) -> Response {
        self.api
            .send(Method::POST, routes::PAYMENTS, user, Some(body))
            .await
    }

    pub async fn publish<E: Event>(&self, event: &E) {
        self.bus.publish(&new_id(), event).await.unwrap();
    }

    pub async fn events<E: Event>(&self) -> Vec<E> {
        published::<E>(&self.bus).await
    }

    /// An open order of `buyer` for `cents`, replicated.
    pub async fn order(&self, buyer: &User, cents: i64) -> String {
        let order = new_order(buyer, cents);
        let id = order.id.clone();
        self.publish(&order).await;
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
            (store::order(&self.db, order_id).await.unwrap()?.status == OrderStatus::Cancelled)
                .then_some(())
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
            (store::order(&self.db, order_id).await.unwrap()?.status == OrderStatus::Complete)
                .then_some(())
        })
        .await;
    }
}

/// The `order:created` of a new open order of `buyer` for `cents`.
pub fn new_order(buyer: &User, cents: i64) -> OrderCreated {
    OrderCreated {
        id: new_id(),
        version: 0,
        status: OrderStatus::Created,
        user_id: buyer.id.clone(),
        expires_at: time::OffsetDateTime::now_utc() + time::Duration::minutes(15),
        ticket: OrderedTicket {
            id: new_id(),
            price: Price::from_cents(cents).unwrap(),
            version: 0,
        },
    }
}

pub fn pay_body(order_id: &str, token: &str) -> Value {
    json!({"orderId": order_id, "token": token})
}

/// An attempt to pay `order_id` with `token`, as a payment request makes it (the number is
/// chosen by `store::begin`).
pub fn attempt_for(order_id: &str, cents: i64, token: &str) -> payments::store::Attempt {
    payments::store::Attempt {
        order_id: order_id.to_owned(),
        number: 0,
        amount: cents,
        currency: "usd".into(),
        source: token.into(),
        description: format!("GitTix order {order_id}"),
    }
}

/// The promise, checked against the provider's ledger: an order whose payment is kept (paid,
/// not cancelled) holds exactly that one charge, not refunded; every other order holds no
/// charge that is not refunded. Also: no idempotency key was ever sent with two different
/// sets of parameters.
pub async fn assert_money_invariant(app: &TestApp, standin: &stripe_standin::StripeStandIn) {
    use std::collections::BTreeMap;

    let orders: Vec<String> = app
        .db
        .query("SELECT VALUE record::id(id) FROM orders")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    let ledger = standin.charges();
    for order_id in orders {
        let order = store::order(&app.db, &order_id).await.unwrap().unwrap();
        let payment = store::payment_for(&app.db, &order_id).await.unwrap();
        let kept: Vec<_> = ledger
            .iter()
            .filter(|c| c.metadata.get("order_id") == Some(&order_id) && !c.refunded)
            .collect();
        match payment {
            Some(payment) if order.status != OrderStatus::Cancelled => {
                assert!(
                    !payment.refunded,
                    "order {order_id}: a kept payment is refunded"
                );
                assert_eq!(
                    kept.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
                    [payment.stripe_id.as_str()],
                    "order {order_id} ({}) must hold exactly its one charge",
                    order.status.as_str()
                );
            }
            _ => assert!(
                kept.is_empty(),
                "order {order_id} ({}) holds charges it should not: {kept:?}",
                order.status.as_str()
            ),
        }
    }
    let mut parameters: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for request in standin.requests() {
        let Some(key) = request.idempotency_key.clone() else {
            continue;
        };
        let previous = parameters
            .entry(key.clone())
            .or_insert(request.form.clone());
        assert_eq!(
            *previous, request.form,
            "idempotency key {key} was reused with other parameters"
        );
    }
}
