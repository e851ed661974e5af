use std::collections::BTreeSet;

use common::events::TicketUpdated;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn successive_changes_give_versions_0_1_2() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let ticket = app.listed(&seller, "Concert", 5.0).await;
    assert_eq!(ticket["version"], 0);
    let id = id_of(&ticket);
    for (price, version) in [(10, 1), (15, 2)] {
        let response = app
            .update(
                Some(&seller),
                &id,
                &json!({"title": "Concert", "price": price}),
            )
            .await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["version"], version);
    }
    let lock = order_created("o1", &app.ticket(&id).await);
    app.publish(&lock).await;
    let locked = app
        .ticket_when(&id, "the lock", |t| t["status"] == "reserved")
        .await;
    assert_eq!(locked["version"], 3, "a lock is a change too");
}

#[tokio::test]
async fn concurrent_updates_never_apply_on_the_same_version() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let ticket = app.listed(&seller, "Concert", 5.0).await;
    let id = id_of(&ticket);
    let attempts = (1..=12).map(|price| {
        let (app, seller, id) = (&app, &seller, &id);
        async move {
            app.update(
                Some(seller),
                id,
                &json!({"title": "Concert", "price": price}),
            )
            .await
        }
    });
    let responses = futures::future::join_all(attempts).await;
    let mut applied = Vec::new();
    for response in responses {
        let status = response.status();
        assert!(status == 200 || status == 409, "{status}");
        if status == 200 {
            let body: Value = response.json().await.unwrap();
            applied.push(body["version"].as_u64().unwrap());
        }
    }
    // Each successful update got its own version, one after the other.
    let distinct: BTreeSet<u64> = applied.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        applied.len(),
        "two updates applied on one version: {applied:?}"
    );
    assert_eq!(
        distinct,
        (1..=applied.len() as u64).collect::<BTreeSet<_>>()
    );
    let stored = app.ticket(&id).await;
    assert_eq!(stored["version"].as_u64().unwrap(), applied.len() as u64);

    // And exactly one event per version.
    let count = applied.len();
    let events = common::testing::eventually("every update's event", || async {
        let events: Vec<_> = app
            .events::<TicketUpdated>()
            .await
            .into_iter()
            .filter(|e| e.id == id)
            .collect();
        (events.len() == count).then_some(events)
    })
    .await;
    let versions: BTreeSet<u64> = events.iter().map(|e| e.version).collect();
    assert_eq!(versions.len(), count);
}

#[tokio::test]
async fn an_update_guarded_on_a_stale_version_does_not_apply() {
    use common::db::{self, DbConfig};
    use common::outbox::{self, Outbox};
    use tickets::domain::Ticket;
    use tickets::store;

    let db = db::connect_with_schema(
        &DbConfig::memory("tickets"),
        &format!("{}{}", store::SCHEMA, outbox::SCHEMA),
    )
    .await
    .unwrap();
    let outbox = Outbox::new(db.clone());
    let ticket = Ticket {
        id: db::new_id(),
        title: "Concert".into(),
        price: common::money::Price::from_cents(500).unwrap(),
        user_id: "u1".into(),
        version: 0,
        order_id: None,
        sold: false,
        edit_version: 0,
    };
    store::create(&outbox, &ticket).await.unwrap();
    let a = Ticket {
        version: 1,
        edit_version: 1,
        title: "A".into(),
        ..ticket.clone()
    };
    let b = Ticket {
        version: 1,
        edit_version: 1,
        title: "B".into(),
        ..ticket.clone()
    };
    let (ra, rb) = tokio::join!(store::update(&outbox, 0, &a), store::update(&outbox, 0, &b));
    assert_eq!(
        [ra.is_ok(), rb.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{ra:?} {rb:?}"
    );
    let stored = store::get(&db, &ticket.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert!(stored.title == "A" || stored.title == "B");
}
