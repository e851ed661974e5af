//! The web server against a stand-in ingress: pages are rendered with the services' data,
//! calls go to INGRESS_URL with the browser's cookie, cookies come back, and an unreachable
//! backend gives a friendly page.

use std::sync::{Arc, Mutex};

use app::api::backend::Backend;
use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse};
use axum::routing::{get, post};
use leptos::config::LeptosOptions;
use serde_json::json;

#[derive(Clone, Default)]
struct Seen {
    cookies: Arc<Mutex<Vec<Option<String>>>>,
}

/// A stand-in for the ingress: a signed-in user for the cookie `session=good`, and a
/// sign-in endpoint that sets the cookie.
async fn spawn_ingress(seen: Seen) -> String {
    let current = {
        let seen = seen.clone();
        move |headers: HeaderMap| async move {
            let cookie = headers
                .get(header::COOKIE)
                .map(|v| v.to_str().unwrap().to_owned());
            seen.cookies.lock().unwrap().push(cookie.clone());
            let user = (cookie.as_deref() == Some("session=good"))
                .then(|| json!({"id": "u1", "email": "fan@example.com", "iat": 1, "exp": 2}));
            axum::Json(json!({ "currentUser": user }))
        }
    };
    let app = Router::new()
        .route("/api/users/currentuser", get(current))
        .route(
            "/api/users/signin",
            post(|| async {
                (
                    AppendHeaders([(
                        header::SET_COOKIE,
                        "session=good; HttpOnly; Path=/; SameSite=Lax",
                    )]),
                    axum::Json(json!({"id": "u1", "email": "fan@example.com"})),
                )
                    .into_response()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn spawn_web(ingress_url: &str) -> String {
    let options = LeptosOptions::builder()
        .output_name("gittix")
        .site_root("target/site")
        .build();
    let router = server::router(options, Backend::new(ingress_url).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service())
            .await
            .unwrap()
    });
    url
}

// Leptos renders on a multi-threaded runtime in production; on the test macro's default
// single-threaded one the server-side render never finishes, so every test asks for threads.

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_is_rendered_with_the_user_of_the_forwarded_cookie() {
    let seen = Seen::default();
    let web = spawn_web(&spawn_ingress(seen.clone()).await).await;
    let html = client()
        .get(format!("{web}/"))
        .header(header::COOKIE, "session=good")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(">Sign Out<"), "{html}");
    assert!(html.contains("fan@example.com"), "{html}");
    assert_eq!(
        seen.cookies.lock().unwrap().as_slice(),
        [Some("session=good".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_anonymous_page_shows_the_signed_out_header() {
    let seen = Seen::default();
    let web = spawn_web(&spawn_ingress(seen.clone()).await).await;
    let html = client()
        .get(format!("{web}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(">Sign In<") && !html.contains(">Sign Out<"),
        "{html}"
    );
    assert_eq!(seen.cookies.lock().unwrap().as_slice(), [None]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_form_sign_in_passes_the_cookie_back_and_redirects() {
    let web = spawn_web(&spawn_ingress(Seen::default()).await).await;
    let response = client()
        .post(format!("{web}/_fn/signin"))
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, format!("{web}/auth/signin"))
        .form(&[
            ("email", "fan@example.com"),
            ("password", "secret1"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[header::LOCATION], "/");
    assert_eq!(
        response.headers()[header::SET_COOKIE],
        "session=good; HttpOnly; Path=/; SameSite=Lax"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_backend_shows_a_friendly_page() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let web = spawn_web(&dead).await;
    let response = client().get(format!("{web}/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = response.text().await.unwrap();
    assert!(html.contains("We'll be right back"), "{html}");
    assert!(
        html.contains("can&#x27;t reach its services") || html.contains("can't reach its services"),
        "{html}"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
