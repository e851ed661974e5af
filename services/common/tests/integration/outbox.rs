use std::sync::{Arc, Mutex};

use common::bus::Bus;
use common::db::{self, DbConfig};
use common::outbox::{self, Outbox, Tx};
use common::testing::eventually;
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

async fn memory_outbox() -> Outbox {
    let db = db::connect_with_schema(&DbConfig::memory("outbox_test"), outbox::SCHEMA)
        .await
        .unwrap();
    Outbox::new(db)
}

/// An `orders` listener that accepts every event; what it saw, and how to stop it.
pub fn accepting_listener(bus: &Bus) -> (Arc<Mutex<Vec<Seen>>>, CancellationToken) {
    let shutdown = CancellationToken::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    spawn_listener(
        bus,
        "orders",
        "orders-1",
        Behaviour::Accept,
        &seen,
        &shutdown,
    );
    (seen, shutdown)
}

async fn outbox_len(outbox: &Outbox) -> usize {
    let rows: Vec<common::db::RecordId> = outbox
        .db()
        .query("SELECT VALUE id FROM outbox")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    rows.len()
}

#[tokio::test]
async fn committed_events_are_published_in_order_and_removed() {
    let (_nats, bus) = start_bus().await;
    let (seen, shutdown) = accepting_listener(&bus);
    let outbox = memory_outbox().await;

    let mut tx = Tx::new();
    for i in 0..5 {
        tx = tx.publish(&ticket(&format!("t{i}"), "Show"));
    }
    outbox.commit(tx).await.unwrap();
    assert_eq!(outbox_len(&outbox).await, 5);

    let relay = outbox.relay(bus.clone());
    assert_eq!(relay.publish_pending().await.unwrap(), 5);
    assert_eq!(outbox_len(&outbox).await, 0);
    assert_eq!(relay.publish_pending().await.unwrap(), 0);

    eventually("five events", || async {
        (ids(&seen).len() == 5).then_some(())
    })
    .await;
    assert_eq!(ids(&seen), ["t0", "t1", "t2", "t3", "t4"]);
    shutdown.cancel();
}

#[tokio::test]
async fn a_failed_transaction_stages_no_event() {
    let outbox = memory_outbox().await;
    let tx = Tx::new()
        .publish(&ticket("t1", "Show"))
        .guarded("SELECT * FROM outbox WHERE subject = 'nothing'");
    let err = outbox.commit(tx).await.unwrap_err();
    assert!(outbox::is_stale(&err), "{err:?}");
    assert_eq!(outbox_len(&outbox).await, 0);
}

#[tokio::test]
async fn commits_counts_the_transactions_that_committed_across_clones() {
    let outbox = memory_outbox().await;
    let clone = outbox.clone();
    assert_eq!(outbox.commits(), 0);
    outbox
        .commit(Tx::new().publish(&ticket("t1", "Show")))
        .await
        .unwrap();
    clone
        .commit(
            Tx::new().statement("CREATE outbox:plain SET subject = 's', name = 'n', payload = 'p'"),
        )
        .await
        .unwrap();
    assert_eq!((outbox.commits(), clone.commits()), (2, 2));

    let stale = Tx::new()
        .publish(&ticket("t2", "Show"))
        .guarded("SELECT * FROM outbox WHERE subject = 'nothing'");
    assert!(outbox.commit(stale).await.is_err());
    assert_eq!(outbox.commits(), 2, "a failed transaction is not counted");
    assert_eq!(
        Outbox::new(outbox.db().clone()).commits(),
        0,
        "another outbox counts its own"
    );
}

#[tokio::test]
async fn an_event_committed_while_nats_is_down_is_delivered_after_it_returns() {
    let (mut nats, bus) = start_bus().await;
    let outbox = memory_outbox().await;
    let shutdown = CancellationToken::new();
    tokio::spawn(
        outbox
            .relay(bus.clone())
            .run(std::time::Duration::from_millis(100), shutdown.clone()),
    );

    nats.kill();
    outbox
        .commit(Tx::new().publish(&ticket("while-down", "Show")))
        .await
        .unwrap();
    assert_eq!(
        outbox_len(&outbox).await,
        1,
        "the event waits in the outbox"
    );
    nats.restart();

    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener_bus = Bus::connect(&nats.url(), "listener").await.unwrap();
    spawn_listener(
        &listener_bus,
        "orders",
        "orders-1",
        Behaviour::Accept,
        &seen,
        &shutdown,
    );
    eventually("the event after NATS returns", || async {
        ids(&seen).contains(&"while-down".to_owned()).then_some(())
    })
    .await;
    eventually("the outbox to drain", || async {
        (outbox_len(&outbox).await == 0).then_some(())
    })
    .await;
    shutdown.cancel();
}

#[tokio::test]
async fn a_republished_event_is_dropped_as_a_duplicate() {
    let (_nats, bus) = start_bus().await;
    let (seen, shutdown) = accepting_listener(&bus);
    let outbox = memory_outbox().await;
    outbox
        .commit(Tx::new().publish(&ticket("t1", "Show")))
        .await
        .unwrap();
    let row: Vec<surrealdb::types::Value> = outbox
        .db()
        .query("SELECT * FROM outbox")
        .await
        .unwrap()
        .take(0)
        .unwrap();

    let relay = outbox.relay(bus.clone());
    assert_eq!(relay.publish_pending().await.unwrap(), 1);
    // A crash after publishing but before removal: the row is back.
    outbox
        .db()
        .query("INSERT INTO outbox $row")
        .bind(("row", row))
        .await
        .unwrap()
        .check()
        .unwrap();
    assert_eq!(relay.publish_pending().await.unwrap(), 1);

    bus.publish("sentinel", &ticket("sentinel", "Show"))
        .await
        .unwrap();
    eventually("the sentinel", || async {
        ids(&seen).contains(&"sentinel".to_owned()).then_some(())
    })
    .await;
    assert_eq!(ids(&seen), ["t1", "sentinel"]);
    shutdown.cancel();
}

#[tokio::test]
async fn the_relay_publishes_this_process_commits_without_reading_them_back() {
    let (_nats, bus) = start_bus().await;
    let (seen, shutdown) = accepting_listener(&bus);
    let outbox = memory_outbox().await;
    let relay = outbox.relay(bus.clone());
    outbox
        .commit(Tx::new().publish(&ticket("a", "Show")))
        .await
        .unwrap();
    outbox
        .commit(
            Tx::new()
                .publish(&ticket("b", "Show"))
                .publish(&ticket("c", "Show")),
        )
        .await
        .unwrap();
    assert!(
        outbox
            .commit(
                Tx::new()
                    .statement("THROW 'no'")
                    .publish(&ticket("never", "Show"))
            )
            .await
            .is_err()
    );

    assert_eq!(relay.publish_committed().await.unwrap(), 3);
    assert_eq!(outbox_len(&outbox).await, 0, "published events are removed");
    assert_eq!(relay.publish_committed().await.unwrap(), 0);
    eventually("three events", || async {
        (ids(&seen).len() == 3).then_some(())
    })
    .await;
    assert_eq!(ids(&seen), ["a", "b", "c"]);
    shutdown.cancel();
}

#[tokio::test]
async fn an_event_the_direct_path_could_not_publish_stays_for_the_table_pass() {
    let (mut nats, bus) = start_bus().await;
    let outbox = memory_outbox().await;
    let relay = outbox.relay(bus.clone());
    nats.kill();
    outbox
        .commit(Tx::new().publish(&ticket("kept", "Show")))
        .await
        .unwrap();
    assert!(relay.publish_committed().await.is_err());
    assert_eq!(outbox_len(&outbox).await, 1);

    nats.restart();
    let listener_bus = Bus::connect(&nats.url(), "listener").await.unwrap();
    let (seen, shutdown) = accepting_listener(&listener_bus);
    let published = eventually("the table pass", || async {
        relay.publish_pending().await.ok().filter(|n| *n == 1)
    })
    .await;
    assert_eq!(published, 1);
    eventually("the kept event", || async {
        ids(&seen).contains(&"kept".to_owned()).then_some(())
    })
    .await;
    assert_eq!(outbox_len(&outbox).await, 0);
    shutdown.cancel();
}
