use common::money::Price;
use common::outbox::Outbox;
use common::testing::eventually;
use serde_json::json;
use tickets::domain::Ticket;
use tickets::store;

use crate::helpers::*;

fn titles(listed: &[serde_json::Value]) -> Vec<&str> {
    listed
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect()
}

/// A ticket as another instance of the service would list it.
fn other_instance_ticket(title: &str) -> Ticket {
    Ticket {
        id: common::db::new_id(),
        title: title.to_owned(),
        price: Price::from_cents(1500).unwrap(),
        user_id: common::db::new_id(),
        version: 0,
        order_id: None,
        sold: false,
        edit_version: 0,
    }
}

#[tokio::test]
async fn show_returns_the_ticket_to_anyone() {
    let app = TestApp::spawn().await;
    let ticket = app.listed(&app.user(), "Concert", 20.0).await;
    let shown = app.ticket(&id_of(&ticket)).await;
    assert_eq!(shown, ticket);
}

#[tokio::test]
async fn show_returns_404_for_unknown_and_malformed_ids() {
    let app = TestApp::spawn().await;
    for id in [
        common::db::new_id(),
        "not-an-id".to_owned(),
        "ticket:x".to_owned(),
        "%27%20OR%201%3D1".to_owned(),
    ] {
        let response = app.show(&id).await;
        assert_eq!(response.status(), 404, "{id}");
        assert_eq!(errors(response).await, [("Not Found".to_owned(), None)]);
    }
}

#[tokio::test]
async fn list_returns_only_tickets_available_to_buy_newest_first() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let first = app.listed(&seller, "First", 10.0).await;
    let second = app.listed(&seller, "Second", 10.0).await;
    let third = app.listed(&seller, "Third", 10.0).await;

    app.publish(&order_created("o-reserved", &second)).await;
    app.publish(&order_created("o-sold", &third)).await;
    app.publish(&order_completed("o-sold", &id_of(&third)))
        .await;
    app.ticket_when(&id_of(&third), "sold", |t| t["status"] == "sold")
        .await;
    app.ticket_when(&id_of(&second), "reserved", |t| t["status"] == "reserved")
        .await;

    let listed = app.list().await;
    assert_eq!(listed, [first]);
    let _ = json!(null);
}

#[tokio::test]
async fn list_shows_every_change_made_through_this_instance_at_once() {
    // The kept list never ages out here: only the changes themselves can refresh it.
    let app = TestApp::spawn_with_lasting_listing().await;
    let seller = app.user();
    assert!(app.list().await.is_empty());

    let first = app.listed(&seller, "First", 10.0).await;
    assert_eq!(titles(&app.list().await), ["First"]);
    let second = app.listed(&seller, "Second", 10.0).await;
    assert_eq!(titles(&app.list().await), ["Second", "First"]);

    let response = app
        .update(
            Some(&seller),
            &id_of(&first),
            &json!({"title": "First, moved", "price": 12.5}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let listed = app.list().await;
    assert_eq!(titles(&listed), ["Second", "First, moved"]);
    assert_eq!(listed[1]["price"], 12.5);
    assert_eq!(listed[1]["version"], 1);

    // A lock taken by the order listener.
    app.publish(&order_created("o-1", &second)).await;
    app.ticket_when(&id_of(&second), "reserved", |t| t["status"] == "reserved")
        .await;
    assert_eq!(titles(&app.list().await), ["First, moved"]);
}

#[tokio::test]
async fn list_shows_a_ticket_another_instance_listed_once_its_event_arrives() {
    let app = TestApp::spawn_with_lasting_listing().await;
    assert!(app.list().await.is_empty());

    // Another instance on the same database commits a ticket with its event; this
    // instance's relay (or the other's) publishes it, and the event refreshes the list.
    let other = Outbox::new(app.db.clone());
    store::create(&other, &other_instance_ticket("From elsewhere"))
        .await
        .unwrap();
    eventually("the other instance's ticket in the list", || async {
        (titles(&app.list().await) == ["From elsewhere"]).then_some(())
    })
    .await;
}

#[tokio::test]
async fn list_shows_a_change_whose_event_never_came_within_the_max_age() {
    let app = TestApp::spawn().await;
    assert!(app.list().await.is_empty());
    // Written with no event at all, as if NATS had lost it.
    let ticket = other_instance_ticket("Unannounced");
    app.db
        .query("CREATE type::record('ticket', $id) CONTENT { title: $title, price: 1500, user_id: 'u', version: 0, edit_version: 0, sold: false }")
        .bind(("id", ticket.id.clone()))
        .bind(("title", ticket.title.clone()))
        .await
        .unwrap()
        .check()
        .unwrap();
    eventually("the unannounced ticket in the list", || async {
        (titles(&app.list().await) == ["Unannounced"]).then_some(())
    })
    .await;
}
