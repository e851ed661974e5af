use common::session::Claims;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn current_user_is_null_without_a_cookie() {
    let app = TestApp::spawn().await;
    assert_eq!(app.current_user(None).await, json!({"currentUser": null}));
}

#[tokio::test]
async fn current_user_returns_the_claims_of_a_valid_session() {
    let app = TestApp::spawn().await;
    let cookie = app.signed_up("kim@example.com").await;
    let body = app.current_user(Some(&cookie)).await;
    let user = body["currentUser"].as_object().expect("a user");
    assert_eq!(user["email"], "kim@example.com");
    let (iat, exp) = (user["iat"].as_i64().unwrap(), user["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 3600);
    let mut keys: Vec<_> = user.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["email", "exp", "iat", "id"]);
}

#[tokio::test]
async fn forged_expired_and_malformed_tokens_mean_anonymous() {
    let app = TestApp::spawn().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let forged = common::session::SessionKeys::new(
        b"someone-elses-secret-key",
        std::time::Duration::from_secs(3600),
        true,
    )
    .mint("u1", "evil@example.com");
    let expired = app.keys.mint_claims(&Claims {
        id: "u1".into(),
        email: "old@example.com".into(),
        iat: now - 7200,
        exp: now - 60,
    });
    for token in [forged.as_str(), expired.as_str(), "garbage", "a.b.c", ""] {
        let body = app.current_user(Some(&format!("session={token}"))).await;
        assert_eq!(body, json!({"currentUser": null}), "token {token:?}");
    }
}
