use std::time::Duration;

use common::bus::Bus;
use common::db::DbConfig;
use common::events::{ExpirationComplete, OrderCancelled, OrderCreated, STREAM, TicketRef};
use common::testing::{EventFlow, NatsServer, eventually};
use expiration::scheduler::now_ms;
use time::OffsetDateTime;

use crate::helpers::*;

#[tokio::test]
async fn an_order_expires_once_when_its_window_ends() {
    let (_nats, running, bus) = in_memory().await;
    let flow = EventFlow::start(&bus).await;

    let order = order_created(OffsetDateTime::now_utc() + time::Duration::seconds(1));
    flow.publish(&order).await;
    flow.expect("the order expired", |e: &ExpirationComplete| {
        e.order_id == order.id
    })
    .await;
    assert_eq!(fired(&bus).await, vec![order.id.clone()]);
    // Stepping again, or a duplicate order:created, fires nothing more.
    assert_eq!(
        running.scheduler.fire_due(now_ms() + 60_000).await.unwrap(),
        0
    );
    publish(&bus, &order).await;
    let marker = order_created(OffsetDateTime::now_utc());
    publish(&bus, &marker).await;
    eventually("the marker", || async {
        fired(&bus).await.contains(&marker.id).then_some(())
    })
    .await;
    assert_eq!(
        fired(&bus)
            .await
            .iter()
            .filter(|id| **id == order.id)
            .count(),
        1
    );
    running.stop().await;
}

#[tokio::test]
async fn the_scheduler_step_fires_exactly_what_is_due() {
    let (_nats, running, bus) = in_memory().await;
    let far = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let orders: Vec<_> = (0..3)
        .map(|i| order_created(far + time::Duration::minutes(i)))
        .collect();
    for order in &orders {
        publish(&bus, order).await;
    }
    for order in &orders {
        eventually("scheduled", || async {
            stored(&running.db, &order.id).await.then_some(())
        })
        .await;
    }
    let at = |order: &OrderCreated| (order.expires_at.unix_timestamp_nanos() / 1_000_000) as i64;

    assert_eq!(
        running
            .scheduler
            .fire_due(at(&orders[0]) - 1)
            .await
            .unwrap(),
        0
    );
    assert_eq!(running.scheduler.fire_due(at(&orders[1])).await.unwrap(), 2);
    assert_eq!(running.scheduler.fire_due(at(&orders[1])).await.unwrap(), 0);
    assert_eq!(
        running
            .scheduler
            .fire_due(at(&orders[2]) + 1)
            .await
            .unwrap(),
        1
    );
    let all = eventually("three events", || async {
        let fired = fired(&bus).await;
        (fired.len() == 3).then_some(fired)
    })
    .await;
    assert_eq!(all, orders.iter().map(|o| o.id.clone()).collect::<Vec<_>>());
    running.stop().await;
}

#[tokio::test]
async fn a_cancelled_order_does_not_expire() {
    let (_nats, running, bus) = in_memory().await;
    let far = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let order = order_created(far);
    publish(&bus, &order).await;
    eventually("scheduled", || async {
        stored(&running.db, &order.id).await.then_some(())
    })
    .await;
    publish(&bus, &cancelled(&order)).await;
    // Firing must not be what is being waited for: fire_due with a far-off clock would
    // fire the order itself if the cancellation had not been handled yet.
    eventually("dropped", || async {
        (!pending(&running.db, &order.id).await).then_some(())
    })
    .await;
    assert_never_fires(&running, &bus, &order).await;
    running.stop().await;
}

/// JetStream keeps order per subject, not across them: an order's cancellation can reach the
/// service before its creation. The cancellation then waits for the creation it follows,
/// and the order never expires.
#[tokio::test]
async fn a_cancellation_that_overtakes_its_order_still_stops_the_expiration() {
    let (_nats, running, bus) = in_memory().await;
    // Due in an hour: `fire_everything_pending` below would fire it were the cancellation
    // lost (as it was when a cancellation found nothing to cancel yet).
    let order = order_created(OffsetDateTime::now_utc() + time::Duration::hours(1));
    publish(&bus, &cancelled(&order)).await;
    // The cancellation has been delivered (and put back: its order is not there yet)
    // before the order is published.
    let consumer = common::bus::consumer_name::<OrderCancelled>("expiration");
    eventually("the cancellation to be delivered", || async {
        let stream = bus.jetstream().get_stream(STREAM).await.ok()?;
        let info = stream.consumer_info(&consumer).await.ok()?;
        (info.delivered.consumer_sequence >= 1).then_some(())
    })
    .await;
    assert!(!stored(&running.db, &order.id).await);

    publish(&bus, &order).await;
    eventually("the order scheduled, then finished", || async {
        (stored(&running.db, &order.id).await && !pending(&running.db, &order.id).await)
            .then_some(())
    })
    .await;
    assert_never_fires(&running, &bus, &order).await;
    running.stop().await;
}

#[tokio::test]
async fn pending_expirations_survive_a_restart_and_late_ones_fire_at_once() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let files = DbConfig {
        url: format!("surrealkv://{}", dir.path().join("expiration").display()),
        ..DbConfig::memory("expiration")
    };
    let bus = Bus::connect(&nats.url(), "test").await.unwrap();

    let running = start(&nats, files.clone()).await;
    let order = order_created(OffsetDateTime::now_utc() + time::Duration::seconds(2));
    publish(&bus, &order).await;
    eventually("scheduled", || async {
        stored(&running.db, &order.id).await.then_some(())
    })
    .await;
    running.stop().await;

    // Down past the expiry; nothing can fire meanwhile.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(fired(&bus).await.is_empty());

    let running = start(&nats, files).await;
    let late = eventually("the late expiration", || async {
        let fired = fired(&bus).await;
        (!fired.is_empty()).then_some(fired)
    })
    .await;
    assert_eq!(late, vec![order.id.clone()]);
    running.stop().await;
}

/// Schedules `count` orders expiring an hour from now and waits until all are stored.
async fn scheduled(running: &Running, bus: &Bus, count: usize) -> Vec<OrderCreated> {
    let far = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let orders: Vec<_> = (0..count)
        .map(|i| order_created(far + time::Duration::milliseconds(i as i64)))
        .collect();
    for order in &orders {
        publish(bus, order).await;
    }
    for order in &orders {
        eventually("scheduled", || async {
            stored(&running.db, &order.id).await.then_some(())
        })
        .await;
    }
    orders
}

#[tokio::test]
async fn many_due_expirations_fire_in_batches_each_exactly_once_across_racing_instances() {
    let (_nats, running, bus) = in_memory().await;
    let orders = scheduled(&running, &bus, 150).await;

    // Two schedulers on one database, as two instances are, step at the same moment.
    let later = now_ms() + 7_200_000;
    let (other, this) = (running.scheduler.clone(), running.scheduler.clone());
    let (a, b) = tokio::join!(other.fire_due(later), this.fire_due(later));
    assert_eq!(a.unwrap() + b.unwrap(), orders.len());

    let all = eventually("every expiration:complete", || async {
        let fired = fired(&bus).await;
        (fired.len() >= orders.len()).then_some(fired)
    })
    .await;
    let mut expected: Vec<String> = orders.iter().map(|o| o.id.clone()).collect();
    let mut got = all.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "each order fires once");
    running.stop().await;
}

#[tokio::test]
async fn a_batch_with_an_expiration_fired_elsewhere_fires_none_of_them() {
    let (_nats, running, bus) = in_memory().await;
    let orders = scheduled(&running, &bus, 2).await;
    let outbox = common::outbox::Outbox::new(running.db.clone());

    expiration::store::fire(&outbox, &orders[0].id)
        .await
        .unwrap();
    let both = [orders[0].id.clone(), orders[1].id.clone()];
    let error = expiration::store::fire_all(&outbox, &both)
        .await
        .expect_err("one of them already fired");
    assert!(
        common::outbox::is_stale(&error) || common::db::is_duplicate(&error),
        "{error}"
    );
    // The other one is still pending: the step fires it, and only it.
    assert_eq!(running.fire_everything_pending().await, 1);
    running.stop().await;
}

/// The buyer's cancellation of `order` (its version 1).
fn cancelled(order: &OrderCreated) -> OrderCancelled {
    OrderCancelled {
        id: order.id.clone(),
        version: 1,
        ticket: TicketRef {
            id: order.ticket.id.clone(),
        },
    }
}

/// Nothing pending fires, and no `expiration:complete` for `order` is published before one
/// for an order published after it.
async fn assert_never_fires(running: &Running, bus: &Bus, order: &OrderCreated) {
    assert_eq!(running.fire_everything_pending().await, 0);
    let marker = order_created(OffsetDateTime::now_utc());
    publish(bus, &marker).await;
    eventually("the marker", || async {
        fired(bus).await.contains(&marker.id).then_some(())
    })
    .await;
    assert!(!fired(bus).await.contains(&order.id));
}

#[tokio::test]
async fn finished_expirations_are_remembered_as_long_as_the_stream_keeps_their_events() {
    let (_nats, running, _bus) = in_memory().await;
    // Finished two days ago (a late redelivery of its finishing event must still find it),
    // and longer ago than the stream keeps events.
    for (order_id, days) in [("recent", 2), ("old", 9)] {
        running
            .db
            .query(
                "CREATE type::record('expiration', $id) CONTENT { expires_at: 0, done: true, \
                 done_at: time::now() - type::duration($ago), version: 1 }",
            )
            .bind(("id", order_id))
            .bind(("ago", format!("{days}d")))
            .await
            .unwrap()
            .check()
            .unwrap();
    }
    expiration::store::prune(&running.db).await.unwrap();
    assert!(stored(&running.db, "recent").await, "pruned too early");
    assert!(!stored(&running.db, "old").await, "never pruned");
    running.stop().await;
}
