use common::contract::routes;
use std::time::Duration;

use auth::limits::Limits;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn signin_returns_200_with_the_user_and_sets_the_session_cookie() {
    let app = TestApp::spawn().await;
    app.signed_up("erin@example.com").await;
    let response = app
        .signin(&json!({"email": "erin@example.com", "password": "password"}))
        .await;
    assert_eq!(response.status(), 200);
    let cookie = session_pair(&response).expect("a session cookie");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], "erin@example.com");
    let me = app.current_user(Some(&cookie)).await;
    assert_eq!(me["currentUser"]["id"], body["id"]);
}

#[tokio::test]
async fn signin_accepts_the_email_in_any_case() {
    let app = TestApp::spawn().await;
    app.signed_up("frank@example.com").await;
    let response = app
        .signin(&json!({"email": "Frank@EXAMPLE.com", "password": "password"}))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], "frank@example.com");
}

#[tokio::test]
async fn signin_with_an_unknown_email_or_a_wrong_password_is_invalid_credentials() {
    let app = TestApp::spawn().await;
    app.signed_up("gina@example.com").await;
    for body in [
        json!({"email": "nobody@example.com", "password": "password"}),
        json!({"email": "gina@example.com", "password": "wrong-password"}),
    ] {
        let response = app.signin(&body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert!(set_cookie(&response).is_none());
        assert_eq!(errors(response).await, [message("Invalid credentials")]);
    }
}

#[tokio::test]
async fn signin_validates_the_email_and_requires_a_password() {
    let app = TestApp::spawn().await;
    let response = app.signin(&json!({"email": "nope", "password": ""})).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        errors(response).await,
        [
            field("Email must be valid", "email"),
            field("You must supply a password", "password"),
        ]
    );
}

#[tokio::test]
async fn repeated_failed_signins_are_throttled_with_429() {
    let app = TestApp::spawn_with_limits(Limits {
        per_account: 3,
        per_address: 100,
        window: Duration::from_secs(60),
    })
    .await;
    app.signed_up("hank@example.com").await;
    let wrong = json!({"email": "hank@example.com", "password": "wrong-password"});
    for _ in 0..3 {
        assert_eq!(app.signin(&wrong).await.status(), 400);
    }
    let response = app
        .signin(&json!({"email": "hank@example.com", "password": "password"}))
        .await;
    assert_eq!(response.status(), 429, "even the right password waits");
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        errors(response).await,
        [message("Too many sign-in attempts, try again later")]
    );
    // Another account from the same address is unaffected.
    app.signed_up("ivy@example.com").await;
    let other = app
        .signin(&json!({"email": "ivy@example.com", "password": "password"}))
        .await;
    assert_eq!(other.status(), 200);
}

/// Login CSRF: a page on another site posting the attacker's credentials must not sign the
/// visitor in. Refused before the handler: no cookie, nothing counted.
#[tokio::test]
async fn a_signin_sent_from_another_site_is_refused_with_403_and_sets_no_cookie() {
    let app = TestApp::spawn().await;
    app.signed_up("attacker@example.com").await;
    let credentials = json!({"email": "attacker@example.com", "password": "password"});
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let response = app
            .client
            .post(app.url(routes::SIGN_IN))
            .header(name, value)
            .json(&credentials)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{name}: {value}");
        assert!(set_cookie(&response).is_none());
        assert_eq!(
            errors(response).await,
            vec![message("Cross-site requests are not allowed")]
        );
    }
    // From our own pages it works as ever.
    let response = app
        .client
        .post(app.url(routes::SIGN_IN))
        .header("sec-fetch-site", "same-origin")
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(session_pair(&response).is_some());
}
