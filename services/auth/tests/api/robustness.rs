use common::contract::routes;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn malformed_json_is_a_400_in_the_common_shape() {
    let app = TestApp::spawn().await;
    for body in [
        &b"{\"email\": "[..],
        b"not json",
        b"{\"email\": \"a@b.co\",}",
    ] {
        let response = app
            .post_raw(routes::SIGN_UP, "application/json", body.to_vec())
            .await;
        assert_eq!(response.status(), 400);
        assert_eq!(
            errors(response).await,
            [message("Request body is not valid JSON")]
        );
    }
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_a_400() {
    let app = TestApp::spawn().await;
    for body in ["[]", "\"a@b.co\"", "42", "null"] {
        let response = app
            .post_raw(routes::SIGN_IN, "application/json", body.into())
            .await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(errors(response).await.len(), 1);
    }
}

#[tokio::test]
async fn a_wrong_content_type_is_a_415_in_the_common_shape() {
    let app = TestApp::spawn().await;
    let response = app
        .post_raw(
            routes::SIGN_UP,
            "text/plain",
            br#"{"email":"a@b.co","password":"pass"}"#.to_vec(),
        )
        .await;
    assert_eq!(response.status(), 415);
    assert_eq!(
        errors(response).await,
        [message("Content-Type must be application/json")]
    );
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_a_413() {
    let app = TestApp::spawn().await;
    let body =
        serde_json::to_vec(&json!({"email": "a".repeat(1024 * 1024 + 1), "password": "pass"}))
            .unwrap();
    let response = app
        .post_raw(routes::SIGN_UP, "application/json", body)
        .await;
    assert_eq!(response.status(), 413);
    assert_eq!(errors(response).await, [message("Request body too large")]);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_in_the_common_shape() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/api/users/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(errors(response).await, [message("Not Found")]);

    let response = app
        .client
        .get(app.url(routes::SIGN_UP))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(errors(response).await, [message("Method not allowed")]);
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}
