//! The reliability suite: many instances, killed processes, NATS going down, poison events.
//! Every scenario asserts exact end states (and counts events), never timings.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::contract::routes;
use common::events::{ExpirationComplete, TicketCreated, TicketUpdated};
use common::testing::{eventually, published};
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use surrealdb::types::SurrealValue;

use crate::helpers::*;

const TICKETS: usize = 200;

/// What a client that can be cut off needs: the ingress, and its own connections.
#[derive(Clone)]
pub(crate) struct Client {
    url: String,
    http: reqwest::Client,
}

impl Client {
    pub(crate) fn of(system: &System) -> Self {
        Self {
            url: system.url.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        cookie: &str,
        body: Option<Value>,
    ) -> Option<(u16, Value)> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header(reqwest::header::COOKIE, cookie);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.ok()?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Some((status, body))
    }

    /// Lists a ticket, once: on an unclear answer (the instance died, 502) it looks for the
    /// ticket before trying again.
    async fn list_once(&self, cookie: &str, title: &str, price: f64) -> String {
        loop {
            match self
                .send(
                    Method::POST,
                    routes::TICKETS,
                    cookie,
                    Some(json!({"title": title, "price": price})),
                )
                .await
            {
                Some((201, ticket)) => return id_of(&ticket),
                _ => {
                    if let Some(id) = self.find_title(title).await {
                        return id;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    async fn find_title(&self, title: &str) -> Option<String> {
        let (status, list) = self.send(Method::GET, routes::TICKETS, "", None).await?;
        (status == 200).then_some(())?;
        list.as_array()?
            .iter()
            .find(|t| t["title"] == title)
            .map(id_of)
    }

    /// Sets the ticket's price, once: it reads the ticket before every attempt, so that a
    /// request that was applied but whose answer was lost is not applied again.
    async fn set_price_once(&self, cookie: &str, id: &str, title: &str, price: u64) {
        loop {
            let current = self
                .send(Method::GET, &format!("/api/tickets/{id}"), "", None)
                .await;
            match current {
                Some((200, ticket)) if ticket["price"] == price => return,
                Some((200, _)) => {}
                _ => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            }
            let answer = self
                .send(
                    Method::PUT,
                    &format!("/api/tickets/{id}"),
                    cookie,
                    Some(json!({"title": title, "price": price})),
                )
                .await;
            if matches!(answer, Some((200, _))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[derive(Debug, SurrealValue)]
struct TicketRow {
    id: String,
    price: i64,
    version: i64,
}

async fn tickets_in(db: &common::db::Db) -> BTreeMap<String, (i64, i64)> {
    let rows: Vec<TicketRow> = db
        .query(
            "SELECT record::id(id) AS id, price, version FROM ticket \
             WHERE string::starts_with(title, 'Seed ')",
        )
        .await
        .unwrap()
        .take(0)
        .unwrap();
    rows.into_iter()
        .map(|r| (r.id, (r.price, r.version)))
        .collect()
}

/// The seeds' scenario, first half: 200 tickets listed at 5 by ten sellers, through every
/// instance.
pub(crate) async fn list_seeds(client: &Client, sellers: &[String]) -> Vec<String> {
    futures::stream::iter(0..TICKETS)
        .map(|i| {
            let (client, cookie) = (client.clone(), sellers[i % sellers.len()].clone());
            async move { client.list_once(&cookie, &format!("Seed {i}"), 5.0).await }
        })
        .buffered(16)
        .collect()
        .await
}

/// Second half, in the background: each ticket raised to 10, then to 15.
pub(crate) fn spawn_updates(
    client: &Client,
    sellers: &[String],
    ids: &[String],
) -> tokio::task::JoinHandle<()> {
    let (client, sellers, ids) = (client.clone(), sellers.to_vec(), ids.to_vec());
    tokio::spawn(async move {
        futures::stream::iter(ids.into_iter().enumerate())
            .map(|(i, id)| {
                let (client, cookie) = (client.clone(), sellers[i % sellers.len()].clone());
                async move {
                    let title = format!("Seed {i}");
                    client.set_price_once(&cookie, &id, &title, 10).await;
                    client.set_price_once(&cookie, &id, &title, 15).await;
                }
            })
            .buffer_unordered(16)
            .collect::<Vec<()>>()
            .await;
    })
}

/// The seeds' scenario under way on `system`: its 200 tickets listed (their ids), the price
/// updates running in the background. [`SeedsRun::finish`] waits for them and checks the
/// end state.
pub(crate) struct SeedsRun {
    pub ids: Vec<String>,
    updates: tokio::task::JoinHandle<()>,
}

impl SeedsRun {
    pub(crate) async fn start(system: &System) -> Self {
        let (client, sellers) = (Client::of(system), sellers(system));
        let ids = list_seeds(&client, &sellers).await;
        let updates = spawn_updates(&client, &sellers, &ids);
        Self { ids, updates }
    }

    pub(crate) async fn finish(self, system: &System) {
        self.updates.await.unwrap();
        assert_end_state(system, &self.ids).await;
    }
}

pub(crate) fn sellers(system: &System) -> Vec<String> {
    (0..10).map(|_| system.user().cookie).collect()
}

/// Every seed ticket ends at 15 (1500 cents) at version 2 in tickets, and the orders
/// replica holds exactly the same; the streams hold each seed's events exactly once (other
/// tickets a scenario lists are not counted).
pub(crate) async fn assert_end_state(system: &System, ids: &[String]) {
    let tickets_db = system.database("tickets").await;
    let orders_db = system.database("orders").await;
    let expected: BTreeMap<String, (i64, i64)> =
        ids.iter().map(|id| (id.clone(), (1500, 2))).collect();
    assert_eq!(
        tickets_in(&tickets_db).await,
        expected,
        "the tickets service"
    );
    eventually("every replica to agree", || async {
        (tickets_in(&orders_db).await == expected).then_some(())
    })
    .await;

    let bus = system.bus().await;
    let seed = |title: &str| title.starts_with("Seed ");
    let mut created = published::<TicketCreated>(&bus).await;
    created.retain(|event| seed(&event.title));
    let mut updated = published::<TicketUpdated>(&bus).await;
    updated.retain(|event| seed(&event.title));
    assert_eq!(created.len(), ids.len(), "one ticket:created each");
    assert_eq!(
        updated.len(),
        2 * ids.len(),
        "two ticket:updated each, none twice"
    );
    let distinct: BTreeSet<(String, u64)> =
        updated.iter().map(|e| (e.id.clone(), e.version)).collect();
    assert_eq!(distinct.len(), 2 * ids.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seeds_scenario_ends_right_with_four_instances_each() {
    let system = System::start_scaled(&[("tickets", 4), ("orders", 4)], &[]).await;
    SeedsRun::start(&system).await.finish(&system).await;
}

/// The same with, mid-run: NATS killed (SIGKILL) and restarted, then one instance of
/// tickets and one of orders killed and restarted.
#[tokio::test(flavor = "multi_thread")]
async fn the_seeds_scenario_survives_nats_and_instances_being_killed() {
    let mut system = System::start_scaled(&[("tickets", 4), ("orders", 4)], &[]).await;
    let seeds = SeedsRun::start(&system).await;

    tokio::time::sleep(Duration::from_millis(800)).await;
    let nats = system.stack.nats().expect("the stack's NATS");
    nats.kill().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    nats.start().unwrap();
    nats.wait_ready(Duration::from_secs(30)).await.unwrap();
    for service in ["tickets", "orders"] {
        let instance = &mut system.stack.instances(service)[1];
        instance.kill().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        instance.start().unwrap();
        instance.wait_ready(Duration::from_secs(60)).await.unwrap();
    }

    seeds.finish(&system).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_simultaneous_purchases_across_instances_make_one_order() {
    let system = System::start_scaled(&[("orders", 4)], &[]).await;
    let seller = system.user();
    let ticket = system.list_ticket(&seller, "Hot ticket", 50.0).await;
    let id = id_of(&ticket);
    let probe = system.user();
    let (status, order) = system.order_when_replicated(&probe, &id).await;
    assert_eq!(status, 201);
    assert_eq!(
        system
            .send(
                Method::DELETE,
                &format!("/api/orders/{}", id_of(&order)),
                Some(&probe),
                None
            )
            .await
            .0,
        204
    );

    let buyers: Vec<User> = (0..200).map(|_| system.user()).collect();
    let attempts = buyers.iter().map(|buyer| {
        let (system, id) = (&system, &id);
        async move {
            system
                .send(
                    Method::POST,
                    routes::ORDERS,
                    Some(buyer),
                    Some(json!({"ticketId": id})),
                )
                .await
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    let mut seen: BTreeMap<u16, (usize, Value)> = BTreeMap::new();
    for (status, body) in &answers {
        seen.entry(*status).or_insert((0, body.clone())).0 += 1;
    }
    assert_eq!(created, 1, "exactly one order: {seen:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(*status, 400, "{body}");
        assert_eq!(body["errors"][0]["message"], "Ticket is already reserved");
    }
    #[derive(SurrealValue)]
    struct Count {
        count: i64,
    }
    let db = system.database("orders").await;
    let active: Vec<Count> = db
        .query("SELECT count() AS count FROM orders WHERE ticket_id = $id AND status = 'created' GROUP ALL")
        .bind(("id", id.clone()))
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(active[0].count, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_order_expires_exactly_once_across_restarts_of_expiration_and_nats() {
    let mut system = System::start(&[("ORDER_EXPIRATION_SECONDS", "3")]).await;
    let seller = system.user();
    let mut orders = Vec::new();
    for i in 0..12 {
        let buyer = system.user();
        let ticket = system
            .list_ticket(&seller, &format!("Expiring {i}"), 5.0)
            .await;
        let (status, order) = system.order_when_replicated(&buyer, &id_of(&ticket)).await;
        assert_eq!(status, 201);
        orders.push((buyer, id_of(&order)));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Both go down before the windows end and come back after.
    system.stack.instances("expiration")[0].kill().await;
    system.stack.nats().unwrap().kill().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let nats = system.stack.nats().unwrap();
    nats.start().unwrap();
    nats.wait_ready(Duration::from_secs(30)).await.unwrap();
    let expiration = &mut system.stack.instances("expiration")[0];
    expiration.start().unwrap();
    expiration
        .wait_ready(Duration::from_secs(60))
        .await
        .unwrap();

    for (buyer, id) in &orders {
        let order = eventually("the expiry", || async {
            let order = system.order(buyer, id).await;
            (order["status"] == "cancelled").then_some(order)
        })
        .await;
        assert_eq!(order["cancelReason"], "expired");
        assert_eq!(order["version"], 1, "cancelled once");
    }
    let fired = published::<ExpirationComplete>(&system.bus().await).await;
    let mut fired: Vec<String> = fired.into_iter().map(|e| e.order_id).collect();
    fired.sort();
    let mut expected: Vec<String> = orders.iter().map(|(_, id)| id.clone()).collect();
    expected.sort();
    assert_eq!(
        fired, expected,
        "each order's expiration fired exactly once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poison_event_on_every_consumer_is_set_aside_and_the_streams_keep_flowing() {
    let system = System::start(&[]).await;
    let bus = system.bus().await;
    for (_, subject) in common::events::ALL {
        bus.publish_raw(
            subject,
            &common::db::new_id(),
            b"\x00not an event".to_vec().into(),
        )
        .await
        .unwrap();
    }
    // Which services consume which subjects.
    let consumers: &[(&str, &[&str])] = &[
        (
            "orders",
            &[
                "ticket.created",
                "ticket.updated",
                "ticket.reservation-rejected",
                "expiration.complete",
                "payment.created",
            ],
        ),
        (
            "tickets",
            &["order.created", "order.cancelled", "order.completed"],
        ),
        (
            "payments",
            &[
                "order.created",
                "order.cancelled",
                "order.completed",
                "payment.created",
            ],
        ),
        (
            "expiration",
            &["order.created", "order.cancelled", "order.completed"],
        ),
    ];
    for (service, subjects) in consumers {
        let kept = eventually("the poison set aside", || async {
            let kept = common::bus::dead_letters(&bus, service).await.ok()?;
            (kept.len() == subjects.len()).then_some(kept)
        })
        .await;
        let kept: BTreeSet<String> = kept.into_iter().map(|(subject, _)| subject).collect();
        let expected: BTreeSet<String> = subjects
            .iter()
            .map(|s| format!("deadletter.{service}.events.{s}"))
            .collect();
        assert_eq!(kept, expected);
    }
    // Everything still flows: list, buy, pay, complete, sold.
    let (seller, buyer) = (system.user(), system.user());
    let ticket = system.list_ticket(&seller, "After the poison", 20.0).await;
    let (status, order) = system.order_when_replicated(&buyer, &id_of(&ticket)).await;
    assert_eq!(status, 201);
    let order_id = id_of(&order);
    let paid = system.pay_when_replicated(&buyer, &order_id).await;
    assert_eq!(paid.0, 201, "{}", paid.1);
    eventually("completion", || async {
        (system.order(&buyer, &order_id).await["status"] == "complete").then_some(())
    })
    .await;
    eventually("sold", || async {
        (system.ticket(&id_of(&ticket)).await["status"] == "sold").then_some(())
    })
    .await;
}
