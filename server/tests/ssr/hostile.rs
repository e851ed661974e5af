//! Hostile sites and nosy networks: server functions refuse calls that another site made
//! the browser send, pages carry the security headers, and only the session cookie goes
//! to the services.

use axum::http::{StatusCode, header};
use serde_json::json;

use crate::{ONE_AT_A_TIME, Seen, client, home_page, spawn_ingress, spawn_web};

/// A form post of `form` to the server function at `path`, with these extra headers, the
/// way a browser submits a plain HTML form.
async fn form_post(
    web: &str,
    path: &str,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client()
        .post(format!("{web}{path}"))
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, format!("{web}/auth/signin"))
        .form(form);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

const SIGN_IN: &[(&str, &str)] = &[
    ("email", "attacker@example.com"),
    ("password", "secret1"),
    ("next", "/"),
];

/// Asserts the 403 in the common error shape, without any cookie.
async fn assert_refused(response: reqwest::Response, case: &str) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "{case}");
    assert!(
        response.headers().get(header::SET_COOKIE).is_none(),
        "{case}: {:?}",
        response.headers()
    );
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{case}"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"errors": [{"message": "Cross-site requests are not allowed"}]}),
        "{case}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_post_from_another_site_is_refused_before_it_reaches_the_services() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let seen = Seen::default();
    let web = spawn_web(&spawn_ingress(seen.clone()).await).await;
    for fetch_site in ["cross-site", "same-site"] {
        let headers = [
            ("sec-fetch-site", fetch_site),
            ("origin", "https://evil.example"),
            ("cookie", "session=good"),
        ];
        let sign_in = form_post(&web, "/_fn/signin", SIGN_IN, &headers).await;
        assert_refused(sign_in, &format!("sign-in, {fetch_site}")).await;
        let sign_out = form_post(&web, "/_fn/signout", &[], &headers).await;
        assert_refused(sign_out, &format!("sign-out, {fetch_site}")).await;
    }
    assert!(seen.calls.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_post_from_another_origin_is_refused_when_the_browser_sends_no_fetch_metadata() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let seen = Seen::default();
    let web = spawn_web(&spawn_ingress(seen.clone()).await).await;
    let port: u16 = web.rsplit(':').next().unwrap().parse().unwrap();
    let other_port = format!("http://127.0.0.1:{}", port.wrapping_add(1).max(1));
    for origin in ["https://evil.example", "null", other_port.as_str()] {
        let sign_in = form_post(&web, "/_fn/signin", SIGN_IN, &[("origin", origin)]).await;
        assert_refused(sign_in, origin).await;
    }
    assert!(seen.calls.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_post_from_our_own_pages_signs_in_as_before() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let seen = Seen::default();
    let web = spawn_web(&spawn_ingress(seen.clone()).await).await;
    let with_fetch_metadata = [("sec-fetch-site", "same-origin"), ("origin", web.as_str())];
    let with_origin_only = [("origin", web.as_str())];
    for headers in [&with_fetch_metadata[..], &with_origin_only, &[]] {
        let response = form_post(&web, "/_fn/signin", SIGN_IN, headers).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{headers:?}");
        assert_eq!(response.headers()[header::LOCATION], "/", "{headers:?}");
        assert_eq!(
            response.headers()[header::SET_COOKIE],
            "session=good; HttpOnly; Path=/; SameSite=Lax",
            "{headers:?}"
        );
    }
    let calls = seen.calls.lock().unwrap();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(calls.iter().all(|call| call.path == "/api/users/signin"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_carries_the_security_headers() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let web = spawn_web(&spawn_ingress(Seen::default()).await).await;
    let response = client().get(format!("{web}/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(
        headers[header::REFERRER_POLICY],
        "strict-origin-when-cross-origin"
    );
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    let policies: Vec<_> = headers
        .get_all(header::CONTENT_SECURITY_POLICY)
        .iter()
        .collect();
    assert_eq!(policies.len(), 1, "{policies:?}");
    assert!(
        policies[0]
            .to_str()
            .unwrap()
            .split(';')
            .any(|directive| directive.trim() == "frame-ancestors 'none'"),
        "{policies:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_session_cookie_reaches_the_ingress() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let seen = Seen::default();
    let web = spawn_web(&spawn_ingress(seen.clone()).await).await;
    let cookies = "theme=dark; session=good; _ga=GA1.2.3";
    let html = home_page(&web, Some(cookies)).await;
    assert!(html.contains(">Sign Out<"), "{html}");
    let sign_out = client()
        .post(format!("{web}/_fn/signout"))
        .header(header::COOKIE, cookies)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert!(sign_out.status().is_success(), "{}", sign_out.status());
    assert_eq!(
        sign_out.headers()[header::SET_COOKIE],
        "session=; Max-Age=0; Path=/"
    );
    // The page also lists the tickets: every call, that one included, has the session only.
    let calls = seen.calls.lock().unwrap();
    for path in [
        "/api/users/currentuser",
        "/api/tickets",
        "/api/users/signout",
    ] {
        assert!(
            calls.iter().any(|call| call.path == path),
            "{path}: {calls:?}"
        );
    }
    assert!(
        calls
            .iter()
            .all(|call| call.cookie.as_deref() == Some("session=good")),
        "{calls:?}"
    );
}
