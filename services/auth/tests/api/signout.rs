use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn signout_returns_200_and_clears_the_cookie() {
    let app = TestApp::spawn().await;
    let cookie = app.signed_up("jack@example.com").await;
    let response = app.signout(Some(&cookie)).await;
    assert_eq!(response.status(), 200);
    let cleared = set_cookie(&response).expect("Set-Cookie");
    assert!(cleared.starts_with("session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(
        cleared.contains("HttpOnly") && cleared.contains("Path=/"),
        "{cleared}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({}));
}

#[tokio::test]
async fn signout_works_when_anonymous() {
    let app = TestApp::spawn().await;
    let response = app.signout(None).await;
    assert_eq!(response.status(), 200);
}
