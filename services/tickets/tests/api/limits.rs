//! Hoarding: one user may list at most `MAX_LISTINGS_PER_HOUR` tickets in any hour.

use futures::future::join_all;
use reqwest::Response;
use serde_json::{Value, json};
use tickets::config::DEFAULT_MAX_LISTINGS_PER_HOUR as MAX;

use crate::helpers::*;

const TOO_MANY: &str = "You have listed too many tickets in the last hour. Try again later.";

fn concert() -> Value {
    json!({"title": "Concert", "price": 10})
}

async fn list_up_to_the_limit(app: &TestApp, user: &User) {
    for _ in 0..MAX {
        assert_eq!(app.create(Some(user), &concert()).await.status(), 201);
    }
}

/// The `Retry-After` of a 429, in seconds.
fn retry_after(response: &Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Moves `user`'s listings `seconds` into the past, as time passing would.
async fn age_listings(app: &TestApp, user: &User, seconds: u64) {
    app.db
        .query(format!(
            "UPDATE ticket SET created_at = created_at - {seconds}s WHERE user_id = $user"
        ))
        .bind(("user", user.id.clone()))
        .await
        .unwrap()
        .check()
        .unwrap();
}

#[tokio::test]
async fn create_returns_429_with_retry_after_when_the_user_listed_too_many_tickets_this_hour() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    list_up_to_the_limit(&app, &seller).await;

    let response = app.create(Some(&seller), &concert()).await;
    assert_eq!(response.status(), 429);
    let wait = retry_after(&response);
    assert!((1..=3600).contains(&wait), "Retry-After {wait}");
    assert_eq!(errors(response).await, [(TOO_MANY.to_owned(), None)]);
}

#[tokio::test]
async fn a_user_at_the_limit_still_gets_400_for_a_bad_body_before_429() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    list_up_to_the_limit(&app, &seller).await;

    let response = app
        .create(Some(&seller), &json!({"title": "", "price": 10}))
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn another_user_can_still_list_when_one_user_is_at_the_limit() {
    let app = TestApp::spawn().await;
    list_up_to_the_limit(&app, &app.user()).await;

    let response = app.create(Some(&app.user()), &concert()).await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn retry_after_is_when_the_oldest_listing_leaves_the_hour() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    list_up_to_the_limit(&app, &seller).await;
    // 59 minutes on, the oldest listing has at most a minute left in the hour.
    age_listings(&app, &seller, 59 * 60).await;

    let response = app.create(Some(&seller), &concert()).await;
    assert_eq!(response.status(), 429);
    let wait = retry_after(&response);
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
}

#[tokio::test]
async fn listings_older_than_an_hour_no_longer_count() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    list_up_to_the_limit(&app, &seller).await;
    assert_eq!(app.create(Some(&seller), &concert()).await.status(), 429);

    age_listings(&app, &seller, 3601).await;

    let response = app.create(Some(&seller), &concert()).await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn parallel_listings_by_one_user_never_pass_the_limit() {
    let app = TestApp::spawn().await;
    let seller = app.user();
    let body = concert();

    let responses = join_all((0..MAX + 5).map(|_| app.create(Some(&seller), &body))).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    let created = statuses.iter().filter(|&&s| s == 201).count();
    assert_eq!(created, MAX as usize, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [201, 429].contains(s)),
        "{statuses:?}"
    );
}
