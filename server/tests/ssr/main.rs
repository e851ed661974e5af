//! The web server against a stand-in ingress: pages are rendered with the services' data,
//! calls go to INGRESS_URL with the browser's cookie, cookies come back, and an unreachable
//! backend gives a friendly page.

mod hostile;
mod limits;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::api::backend::Backend;
use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse};
use axum::routing::{get, post};
use leptos::config::LeptosOptions;
use serde_json::json;

#[derive(Clone, Default)]
struct Seen {
    /// The `Cookie` header of every `currentuser` call.
    cookies: Arc<Mutex<Vec<Option<String>>>>,
    /// Every call.
    calls: Arc<Mutex<Vec<Call>>>,
}

/// One call the stand-in ingress received.
#[derive(Debug)]
struct Call {
    path: String,
    cookie: Option<String>,
    traceparent: Option<String>,
}

/// A stand-in for the ingress: a signed-in user for the cookie `session=good`, no tickets
/// for sale, a sign-in endpoint that sets the cookie and a sign-out endpoint that clears it.
async fn spawn_ingress(seen: Seen) -> String {
    let record = {
        let seen = seen.clone();
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let seen = seen.clone();
            async move {
                let cookie = request
                    .headers()
                    .get(header::COOKIE)
                    .map(|v| v.to_str().unwrap().to_owned());
                let traceparent = request
                    .headers()
                    .get("traceparent")
                    .map(|v| v.to_str().unwrap().to_owned());
                seen.calls.lock().unwrap().push(Call {
                    path: request.uri().path().to_owned(),
                    cookie,
                    traceparent,
                });
                next.run(request).await
            }
        }
    };
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
        .route("/api/tickets", get(|| async { axum::Json(json!([])) }))
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
        )
        .route(
            "/api/users/signout",
            post(|| async {
                (
                    AppendHeaders([(header::SET_COOKIE, "session=; Max-Age=0; Path=/")]),
                    axum::Json(json!({})),
                )
                    .into_response()
            }),
        )
        .layer(axum::middleware::from_fn(record));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn spawn_web(ingress_url: &str) -> String {
    spawn_web_with_deadline(ingress_url, server::PAGE_DEADLINE).await
}

async fn spawn_web_with_deadline(ingress_url: &str, deadline: Duration) -> String {
    spawn_web_on("target/site", ingress_url, deadline).await
}

/// One-second read timeouts, so that the slow-client tests end quickly.
fn test_limits() -> server::HttpLimits {
    server::HttpLimits {
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        ..server::HttpLimits::default()
    }
}

async fn spawn_web_on(site_root: &str, ingress_url: &str, deadline: Duration) -> String {
    let options = LeptosOptions::builder()
        .output_name("gittix")
        .site_root(site_root)
        .build();
    let router = server::router(options, Backend::new(ingress_url).unwrap(), deadline);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        server::serve(listener, router, test_limits(), std::future::pending())
            .await
            .unwrap()
    });
    url
}

/// The web server (before a stand-in ingress) on a site folder whose `pkg/` holds `files`
/// (name, content); the folder lives as long as the returned guard.
async fn spawn_web_with_files(files: &[(&str, &str)]) -> (String, tempfile::TempDir) {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    for (name, content) in files {
        std::fs::write(pkg.join(name), content).unwrap();
    }
    let ingress = spawn_ingress(Seen::default()).await;
    let web = spawn_web_on(
        site.path().to_str().unwrap(),
        &ingress,
        server::PAGE_DEADLINE,
    )
    .await;
    (web, site)
}

/// One test at a time. Leptos renders on a multi-threaded runtime in production (on the
/// test macro's default single-threaded one the render never finishes, so every test asks
/// for threads). Several of these tests rendering at once in one process, each on its own
/// runtime, now and then left a page render that never finished (how often: BENCHMARKS.md);
/// one at a time, none did, and one server under concurrent load never did either. The
/// server's page deadline (tested below) bounds such a stall in production.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_is_rendered_with_the_user_of_the_forwarded_cookie() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let seen = Seen::default();
    let web = spawn_web(&spawn_ingress(seen.clone()).await).await;
    let html = home_page(&web, Some("session=good")).await;
    assert!(html.contains(">Sign Out<"), "{html}");
    assert!(html.contains("fan@example.com"), "{html}");
    assert_eq!(
        seen.cookies.lock().unwrap().as_slice(),
        [Some("session=good".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pages_calls_to_the_services_carry_the_requests_trace_context() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let seen = Seen::default();
    let web = spawn_web(&spawn_ingress(seen.clone()).await).await;
    let caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let response = client()
        .get(format!("{web}/"))
        .header(header::COOKIE, "session=good")
        .header("traceparent", caller)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let calls = seen.calls.lock().unwrap();
    let mut paths: Vec<&str> = calls.iter().map(|c| c.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        ["/api/tickets", "/api/users/currentuser"],
        "{calls:?}"
    );
    // No spans are recorded here, so the page's own context is the caller's, passed on.
    for call in calls.iter() {
        assert_eq!(call.traceparent.as_deref(), Some(caller), "{call:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_anonymous_page_shows_the_signed_out_header() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let seen = Seen::default();
    let web = spawn_web(&spawn_ingress(seen.clone()).await).await;
    let html = home_page(&web, None).await;
    assert!(
        html.contains(">Sign In<") && !html.contains(">Sign Out<"),
        "{html}"
    );
    // Without a session cookie nobody can be signed in: auth is not asked.
    assert!(seen.cookies.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn only_a_session_cookie_makes_the_page_ask_who_is_signed_in() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let seen = Seen::default();
    let web = spawn_web(&spawn_ingress(seen.clone()).await).await;
    for cookie in [
        "theme=dark",
        "sessionx=1; xsession=2",
        "theme=dark; session=stale",
    ] {
        let html = home_page(&web, Some(cookie)).await;
        assert!(html.contains(">Sign In<"), "{cookie}: {html}");
    }
    assert_eq!(
        seen.cookies.lock().unwrap().as_slice(),
        [Some("session=stale".to_owned())],
        "asked once, with the session cookie only"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_form_sign_in_passes_the_cookie_back_and_redirects() {
    let _serial = ONE_AT_A_TIME.lock().await;
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
    let _serial = ONE_AT_A_TIME.lock().await;
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

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_does_not_render_in_time_answers_a_try_again_page() {
    let _serial = ONE_AT_A_TIME.lock().await;
    // An ingress that accepts and never answers: the backend client would wait 30 s.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ingress = format!("http://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let web = spawn_web_with_deadline(&ingress, Duration::from_millis(500)).await;
    let started = Instant::now();
    let response = client().get(format!("{web}/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "5");
    let html = response.text().await.unwrap();
    assert!(html.contains("This page took too long to load"), "{html}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The deadline is for pages: the health check is not behind it.
    let health = client().get(format!("{web}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn static_files_come_in_the_best_encoding_the_browser_accepts_and_say_they_vary() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (web, _site) = spawn_web_with_files(&[
        ("gittix.js", "console.log('plain')"),
        ("gittix.js.br", "brotli bytes"),
        ("gittix.js.gz", "gzip bytes"),
    ])
    .await;

    for (accepts, encoding, body) in [
        (Some("gzip, deflate, br, zstd"), Some("br"), "brotli bytes"),
        (Some("gzip"), Some("gzip"), "gzip bytes"),
        (None, None, "console.log('plain')"),
    ] {
        let mut request = client().get(format!("{web}/pkg/gittix.js"));
        if let Some(accepts) = accepts {
            request = request.header(header::ACCEPT_ENCODING, accepts);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response
                .headers()
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accepts:?}"
        );
        assert!(
            response.headers().get_all(header::VARY).iter().any(|v| v
                .to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("accept-encoding")),
            "{accepts:?}: {:?}",
            response.headers()
        );
        assert_eq!(response.text().await.unwrap(), body, "{accepts:?}");
    }
}

/// Static files answer with their own status and headers however many pages render (and
/// redirect) at the same time: leptos_axum's file handler used to take a concurrent page's
/// `302` and `Location` for a stylesheet.
#[tokio::test(flavor = "multi_thread")]
async fn static_files_keep_their_own_status_while_pages_redirect() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (web, _site) = spawn_web_with_files(&[("gittix.css", "body { color: black }")]).await;

    // Signed out, /tickets/new redirects to sign in; meanwhile the stylesheet is fetched.
    let pages = (0..4).map(|_| {
        let web = web.clone();
        tokio::spawn(async move {
            let client = client();
            for _ in 0..60 {
                let response = client
                    .get(format!("{web}/tickets/new"))
                    .header(header::ACCEPT, "text/html")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::FOUND);
            }
        })
    });
    let stylesheets = (0..4).map(|_| {
        let web = web.clone();
        tokio::spawn(async move {
            let client = client();
            let mut wrong = Vec::new();
            for _ in 0..120 {
                let response = client
                    .get(format!("{web}/pkg/gittix.css"))
                    .header(header::ACCEPT, "text/css,*/*;q=0.1")
                    .send()
                    .await
                    .unwrap();
                if response.status() != StatusCode::OK
                    || response.headers().contains_key(header::LOCATION)
                {
                    wrong.push(format!(
                        "{} {:?}",
                        response.status(),
                        response.headers().get(header::LOCATION)
                    ));
                }
            }
            wrong
        })
    });
    let stylesheets: Vec<_> = stylesheets.collect();
    for page in pages {
        page.await.unwrap();
    }
    let mut wrong = Vec::new();
    for stylesheet in stylesheets {
        wrong.extend(stylesheet.await.unwrap());
    }
    assert!(wrong.is_empty(), "stylesheets answered {wrong:?}");

    // Anything that is no file still gets the app's not-found page, whatever the method.
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let response = client()
            .request(method.clone(), format!("{web}/pkg/missing.css"))
            .header(header::ACCEPT, "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method}");
        assert!(
            response.text().await.unwrap().contains("Page not found"),
            "{method}"
        );
    }
}

/// The home page's HTML, fetched with this `Cookie` header (or none).
async fn home_page(web: &str, cookie: Option<&str>) -> String {
    let mut request = client().get(format!("{web}/"));
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.send().await.unwrap().text().await.unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
