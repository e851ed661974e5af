use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn signup_returns_201_with_the_user_and_sets_the_session_cookie() {
    let app = TestApp::spawn().await;
    let response = app
        .signup(&json!({"email": "alice@example.com", "password": "password"}))
        .await;
    assert_eq!(response.status(), 201);
    let cookie = set_cookie(&response).expect("Set-Cookie");
    for flag in ["HttpOnly", "Path=/", "SameSite=Lax", "Secure"] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], "alice@example.com");
    assert!(body["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "only id and email: {body}"
    );
}

#[tokio::test]
async fn signup_cookie_identifies_the_new_user() {
    let app = TestApp::spawn().await;
    let cookie = app.signed_up("bob@example.com").await;
    let body = app.current_user(Some(&cookie)).await;
    assert_eq!(body["currentUser"]["email"], "bob@example.com");
}

#[tokio::test]
async fn signup_returns_400_for_an_invalid_email() {
    let app = TestApp::spawn().await;
    for email in [json!("not-an-email"), json!(""), json!(42), Value::Null] {
        let response = app
            .signup(&json!({"email": email, "password": "password"}))
            .await;
        assert_eq!(response.status(), 400, "{email}");
        assert_eq!(
            errors(response).await,
            [field("Email must be valid", "email")]
        );
    }
}

#[tokio::test]
async fn signup_returns_400_for_a_password_too_short_or_too_long() {
    let app = TestApp::spawn().await;
    for password in [json!("abc"), json!("a".repeat(21)), json!(""), json!(1234)] {
        let response = app
            .signup(&json!({"email": "a@example.com", "password": password}))
            .await;
        assert_eq!(response.status(), 400, "{password}");
        assert_eq!(
            errors(response).await,
            [field(
                "Password must be between 4 and 20 characters",
                "password"
            )]
        );
    }
}

#[tokio::test]
async fn signup_reports_every_invalid_field_at_once() {
    let app = TestApp::spawn().await;
    let response = app.signup(&json!({})).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        errors(response).await,
        [
            field("Email must be valid", "email"),
            field("Password must be between 4 and 20 characters", "password"),
        ]
    );
}

#[tokio::test]
async fn signup_returns_400_for_an_email_in_use() {
    let app = TestApp::spawn().await;
    app.signed_up("carol@example.com").await;
    let response = app
        .signup(&json!({"email": "carol@example.com", "password": "other-pw"}))
        .await;
    assert_eq!(response.status(), 400);
    assert!(set_cookie(&response).is_none());
    assert_eq!(errors(response).await, [message("Email in use")]);
}

#[tokio::test]
async fn emails_compare_case_insensitively_and_are_stored_lower_case() {
    let app = TestApp::spawn().await;
    let response = app
        .signup(&json!({"email": "  Dave@Example.COM ", "password": "password"}))
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], "dave@example.com");

    let again = app
        .signup(&json!({"email": "DAVE@example.com", "password": "password"}))
        .await;
    assert_eq!(again.status(), 400);
    assert_eq!(errors(again).await, [message("Email in use")]);
}

#[tokio::test]
async fn simultaneous_signups_with_one_email_create_one_user() {
    let app = TestApp::spawn().await;
    let app = &app;
    let attempts = (0..8).map(|i| {
        let email = if i % 2 == 0 {
            "race@example.com"
        } else {
            "RACE@example.com"
        };
        async move {
            app.signup(&json!({"email": email, "password": "password"}))
                .await
        }
    });
    let responses = futures::future::join_all(attempts).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        7,
        "{statuses:?}"
    );
    for response in responses.into_iter().filter(|r| r.status() == 400) {
        assert_eq!(errors(response).await, [message("Email in use")]);
    }
}
