//! Beyond one server: the seeds' scenario on a three-server JetStream cluster whose stream
//! leader is killed mid-run (then restarted, then another killed), a SurrealDB server killed
//! mid-run, and NATS gone altogether while the services keep answering. Every scenario
//! asserts exact end states, never timings.

use std::time::Duration;

use common::contract::routes;
use common::events::STREAM;
use common::testing::eventually;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::reliability::SeedsRun;

/// The name of the NATS server leading the events stream, once it has one that is not
/// `not` (a server just killed, until the others elect a new leader).
async fn stream_leader(system: &System, not: Option<&str>) -> String {
    let bus = system.bus().await;
    eventually("the events stream has a leader", || async {
        let mut stream = bus.jetstream().get_stream(STREAM).await.ok()?;
        let leader = stream.info().await.ok()?.cluster.as_ref()?.leader.clone()?;
        (Some(leader.as_str()) != not).then_some(leader)
    })
    .await
}

/// Waits until every copy of the events stream is current again (a restarted server has
/// caught up), so that losing another server keeps a quorum.
async fn wait_for_current_replicas(system: &System) {
    let bus = system.bus().await;
    eventually(
        "all three copies of the events stream are current",
        || async {
            let mut stream = bus.jetstream().get_stream(STREAM).await.ok()?;
            let info = stream.info().await.ok()?;
            let cluster = info.cluster.as_ref()?;
            let current = cluster.leader.is_some()
                && cluster.replicas.len() == 2
                && cluster
                    .replicas
                    .iter()
                    .all(|peer| peer.current && !peer.offline);
            current.then_some(())
        },
    )
    .await;
}

async fn kill_nats_server(system: &mut System, name: &str) {
    let server = system
        .stack
        .nats_servers()
        .iter_mut()
        .find(|server| server.name() == name)
        .unwrap_or_else(|| panic!("no NATS server {name}"));
    server.kill().await;
}

/// Tickets listed and replicated to orders, for purchases during a failover (the seeds
/// themselves are being edited, and a reserved ticket cannot be).
async fn tickets_to_buy(system: &System, count: usize) -> Vec<String> {
    let seller = system.user();
    let mut ids = Vec::new();
    for n in 0..count {
        ids.push(id_of(
            &system
                .list_ticket(&seller, &format!("Failover {n}"), 20.0)
                .await,
        ));
    }
    let orders = system.database("orders").await;
    eventually("the orders replica has them", || async {
        let rows: Vec<Value> = orders
            .query("SELECT id FROM ticket WHERE string::starts_with(title, 'Failover')")
            .await
            .ok()?
            .take(0)
            .ok()?;
        (rows.len() == count).then_some(())
    })
    .await;
    ids
}

/// Buys each ticket as a new buyer, once (no retry by the client): every answer must be a
/// 201, whatever NATS is going through. Returns the buyers with their orders.
async fn buy_each(system: &System, tickets: &[String]) -> Vec<(User, String)> {
    let mut bought = Vec::new();
    for ticket in tickets {
        let buyer = system.user();
        let (status, order) = system
            .send(
                Method::POST,
                routes::ORDERS,
                Some(&buyer),
                Some(json!({"ticketId": ticket})),
            )
            .await;
        assert_eq!(status, 201, "a purchase during the failover: {order}");
        bought.push((buyer, id_of(&order)));
    }
    bought
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seeds_scenario_survives_losing_the_stream_leader_of_a_three_server_cluster() {
    let mut system = System::start_clustered(&[("tickets", 4), ("orders", 4)]).await;
    let to_buy = tickets_to_buy(&system, 6).await;
    let seeds = SeedsRun::start(&system).await;

    tokio::time::sleep(Duration::from_millis(800)).await;
    let first = stream_leader(&system, None).await;
    kill_nats_server(&mut system, &first).await;
    let mut bought = buy_each(&system, &to_buy[..3]).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let server = system
        .stack
        .nats_servers()
        .iter_mut()
        .find(|server| server.name() == first)
        .unwrap();
    server.start().unwrap();
    server.wait_ready(Duration::from_secs(30)).await.unwrap();
    wait_for_current_replicas(&system).await;

    let second = stream_leader(&system, None).await;
    assert_ne!(
        second, first,
        "a new leader was elected while {first} was down"
    );
    kill_nats_server(&mut system, &second).await;
    bought.extend(buy_each(&system, &to_buy[3..]).await);
    // The two servers left elect a leader among themselves and carry on.
    stream_leader(&system, Some(&second)).await;

    seeds.finish(&system).await;
    // The orders made during the failover reached payments through the cluster: they pay.
    for (buyer, order) in &bought {
        let (status, body) = system.pay_when_replicated(buyer, order).await;
        assert_eq!(status, 201, "{body}");
    }
    for (buyer, order) in &bought {
        eventually("the paid order is complete", || async {
            (system.order(buyer, order).await["status"] == "complete").then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seeds_scenario_survives_the_surrealdb_server_being_killed() {
    let mut system = System::start_scaled(&[("tickets", 4), ("orders", 4)], &[]).await;
    let seeds = SeedsRun::start(&system).await;

    tokio::time::sleep(Duration::from_millis(800)).await;
    let surreal = system.stack.surreal_server().expect("a SurrealDB server");
    surreal.kill().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    surreal.start().unwrap();
    surreal.wait_ready(Duration::from_secs(60)).await.unwrap();

    seeds.finish(&system).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_nats_gone_the_services_say_degraded_keep_answering_and_recover() {
    let mut system = System::start(&[]).await;
    let seller = system.user();
    let health = |port: u16| async move {
        let url = format!("http://127.0.0.1:{port}/healthz");
        let response = reqwest::get(url).await.unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    let tickets_port = system.stack.instances("tickets")[0].port().unwrap();
    assert_eq!(health(tickets_port).await, (200, json!({"status": "ok"})));

    system.stack.nats().unwrap().kill().await;
    eventually("tickets says it is degraded", || async {
        let degraded = json!({"status": "degraded", "failing": ["nats"]});
        (health(tickets_port).await == (200, degraded)).then_some(())
    })
    .await;
    // Still answering, and still ready: the listing waits in the outbox.
    let ticket = system.list_ticket(&seller, "During the outage", 30.0).await;
    let ready = reqwest::get(format!("http://127.0.0.1:{tickets_port}/readyz"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let nats = system.stack.nats().unwrap();
    nats.start().unwrap();
    nats.wait_ready(Duration::from_secs(30)).await.unwrap();
    eventually("tickets recovers by itself", || async {
        (health(tickets_port).await == (200, json!({"status": "ok"}))).then_some(())
    })
    .await;
    let buyer = system.user();
    let (status, order) = system.order_when_replicated(&buyer, &id_of(&ticket)).await;
    assert_eq!(
        status, 201,
        "the listing made during the outage reached orders: {order}"
    );
}
