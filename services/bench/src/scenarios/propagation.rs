//! Event propagation: a ticket edit until the orders replica shows it, against a raw
//! JetStream publish-to-consume round trip on the same NATS. Runs on a stack of its own
//! whose services keep their data in a SurrealDB server (as in Kubernetes), so that the
//! orders replica can be read; that stack's idle memory is taken too.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use common::contract::TicketId;
use common::contract::routes::{self, TICKETS};
use common::db::Db;
use futures::StreamExt;
use serde_json::json;
use stack::Storage;
use surrealdb::types::SurrealValue;

use crate::measure::{Resident, Summary, summarise};
use crate::plan::Plan;
use crate::report::{Row, ms};
use crate::system::Running;

/// What the propagation scenario measured.
pub struct Propagation {
    /// From the edit committed to the replica, and the same from the edit request sent.
    pub rows: [Row; 2],
    /// Every process's idle resident memory on this stack.
    pub memory: BTreeMap<String, Resident>,
}

/// The replica's price, as the live query reports it.
#[derive(Debug, Default, SurrealValue)]
struct Priced {
    price: i64,
}

/// The latencies measured.
struct Latencies {
    /// From the edit's answer (the tickets service committed it) until the orders replica
    /// shows it: the event's way from one service's database to another's.
    committed_to_replica: Summary,
    /// From sending the edit request until the orders replica shows it.
    request_to_replica: Summary,
    /// From sending the edit request until its answer.
    request_answered: Summary,
    /// The raw JetStream publish-to-consume round trip.
    raw: Summary,
}

/// Starts the stack, measures, and stops it.
pub async fn run(plan: &Plan, site: PathBuf) -> anyhow::Result<Propagation> {
    let system = Running::start(Storage::Server, plan, Some(site)).await?;
    tokio::time::sleep(plan.settle).await;
    let memory = system.memory();
    let orders = system
        .stack
        .surreal_root("orders")
        .context("a SurrealDB server")?;
    let orders = common::db::connect(&orders).await?;
    let (samples, answered) = edits(&system, &orders, plan).await?;
    let raw = jetstream_round_trips(&system, plan).await?;
    system.stack.stop().await;
    let latencies = Latencies {
        committed_to_replica: summarise(
            samples
                .iter()
                .zip(&answered)
                .map(|(done, answered)| *done - *answered)
                .collect(),
        ),
        request_to_replica: summarise(samples),
        request_answered: summarise(answered),
        raw: summarise(raw),
    };
    Ok(Propagation {
        rows: rows(&latencies),
        memory,
    })
}

/// Edits one ticket the plan's number of times, each time waiting until the orders
/// replica (`orders`, its database) shows the edit; returns, for each, the time until the
/// replica showed it and until the edit was answered, both from the request sent.
async fn edits(
    system: &Running,
    orders: &Db,
    plan: &Plan,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let seller = system.cookie();
    let body = json!({"title": "Propagation", "price": 1});
    let (_, ticket) = system
        .send(reqwest::Method::POST, TICKETS, &seller, Some(body))
        .await?;
    let id = TicketId::from(ticket["id"].as_str().unwrap_or_default());
    let record = common::db::RecordId::new("ticket", id.as_str());
    let replica_price = |rid: common::db::RecordId| {
        let orders = orders.clone();
        async move {
            let prices: Vec<i64> = orders
                .query("SELECT VALUE price FROM $rid")
                .bind(("rid", rid))
                .await?
                .take(0)?;
            anyhow::Ok(prices.first().copied())
        }
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while replica_price(record.clone()).await?.is_none() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the ticket never reached the orders replica"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The replica's changes as SurrealDB pushes them (a live query): no polling delay, and
    // no polling load on the system being measured.
    let mut live = orders
        .query("LIVE SELECT price FROM ticket WHERE id = $rid")
        .bind(("rid", record.clone()))
        .await?;
    let mut changes = live.stream::<surrealdb::Notification<Priced>>(0)?;
    let (mut samples, mut answered) = (Vec::new(), Vec::new());
    for i in 0..plan.propagation_samples {
        let price = 2 + i as i64;
        let body = json!({"title": "Propagation", "price": price});
        let started = Instant::now();
        let (status, _) = system
            .send(
                reqwest::Method::PUT,
                &routes::ticket(&id),
                &seller,
                Some(body),
            )
            .await?;
        anyhow::ensure!(status == 200, "edit failed: {status}");
        answered.push(started.elapsed());
        loop {
            let change = tokio::time::timeout(Duration::from_secs(30), changes.next())
                .await
                .context("the edit never reached the replica")?
                .context("the live query ended")??;
            if change.data.price == price * 100 {
                break;
            }
        }
        samples.push(started.elapsed());
    }
    Ok((samples, answered))
}

/// Twice the plan's samples of a raw round trip on the stack's NATS, a scratch stream:
/// publish, then receive through a pull consumer.
async fn jetstream_round_trips(system: &Running, plan: &Plan) -> anyhow::Result<Vec<Duration>> {
    let client = system.admin_nats().await?;
    let js = async_nats::jetstream::new(client);
    let stream = js
        .get_or_create_stream(async_nats::jetstream::stream::Config {
            name: "BENCH".into(),
            subjects: vec!["bench.>".into()],
            ..Default::default()
        })
        .await?;
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some("bench".into()),
            ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    let mut raw = Vec::new();
    for i in 0..plan.propagation_samples * 2 {
        let started = Instant::now();
        js.publish("bench.roundtrip", format!("{i}").into())
            .await?
            .await?;
        let message = messages
            .next()
            .await
            .context("the consumer ended")?
            .map_err(|e| anyhow::anyhow!(e))?;
        raw.push(started.elapsed());
        message.ack().await.map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(raw)
}

/// The propagation rows: the event's way against the raw round trip, and the same with the
/// HTTP edit included.
fn rows(latencies: &Latencies) -> [Row; 2] {
    let (ours, raw) = (latencies.committed_to_replica, latencies.raw);
    let committed = Row {
        scenario: "Event propagation: ticket edit committed → orders replica".to_owned(),
        measured: format!("p50 {}, p99 {}", ms(ours.p50), ms(ours.p99)),
        baseline: format!(
            "raw JetStream round trip: p50 {}, p99 {}",
            ms(raw.p50),
            ms(raw.p99)
        ),
        ratio: format!(
            "{:.1}× at p99",
            ours.p99.as_secs_f64() / raw.p99.as_secs_f64().max(1e-9)
        ),
        target: "p99 ≤ 10×".to_owned(),
        met: Some(ours.p99.as_secs_f64() <= 10.0 * raw.p99.as_secs_f64()),
    };
    let requested = Row {
        scenario: "The same from the edit request sent (HTTP edit included)".to_owned(),
        measured: format!(
            "p50 {}, p99 {} (the edit answered: p50 {}, p99 {})",
            ms(latencies.request_to_replica.p50),
            ms(latencies.request_to_replica.p99),
            ms(latencies.request_answered.p50),
            ms(latencies.request_answered.p99)
        ),
        baseline: "—".to_owned(),
        ratio: format!(
            "{:.1}× at p99",
            latencies.request_to_replica.p99.as_secs_f64() / raw.p99.as_secs_f64().max(1e-9)
        ),
        target: "—".to_owned(),
        met: None,
    };
    [committed, requested]
}
