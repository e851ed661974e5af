//! The ingress in front of small stand-in services on random ports.

mod limits;

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{AppendHeaders, IntoResponse};
use common::http::HttpLimits;
use common::testing::free_port;
use ingress::Ingress;
use ingress::config::IngressConfig;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// A stand-in service that echoes what it received and sets two cookies.
async fn spawn_echo(name: &'static str) -> String {
    let app = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| async move {
            let cookie = headers
                .get(header::COOKIE)
                .map(|v| v.to_str().unwrap().to_owned());
            let real_ip = headers
                .get("x-real-ip")
                .map(|v| v.to_str().unwrap().to_owned());
            let traceparent = headers
                .get("traceparent")
                .map(|v| v.to_str().unwrap().to_owned());
            (
                AppendHeaders([
                    (
                        header::SET_COOKIE,
                        "session=from-upstream; Path=/; HttpOnly",
                    ),
                    (header::SET_COOKIE, "other=1; Path=/"),
                ]),
                axum::Json(json!({
                    "service": name,
                    "method": method.as_str(),
                    "uri": uri.to_string(),
                    "cookie": cookie,
                    "realIp": real_ip,
                    "traceparent": traceparent,
                    "body": String::from_utf8_lossy(&body),
                })),
            )
                .into_response()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

struct TestIngress {
    address: String,
    client: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for TestIngress {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn spawn_ingress(upstreams: HashMap<&'static str, Vec<String>>) -> TestIngress {
    spawn_ingress_with_metrics(upstreams, None).await
}

async fn spawn_ingress_with_metrics(
    upstreams: HashMap<&'static str, Vec<String>>,
    metrics_port: Option<u16>,
) -> TestIngress {
    let config = IngressConfig {
        host: IpAddr::from([127, 0, 0, 1]),
        port: 0,
        upstreams: upstreams
            .into_iter()
            .map(|(service, urls)| (service, urls.iter().map(|u| u.parse().unwrap()).collect()))
            .collect(),
        timeout: Duration::from_secs(10),
        trusted_proxies: vec![IpAddr::from([127, 0, 0, 1])],
        http_limits: HttpLimits {
            header_read_timeout: Duration::from_secs(1),
            body_read_timeout: Duration::from_secs(1),
            ..HttpLimits::default()
        },
        metrics_port,
    };
    let ingress = Ingress::bind(&config).await.unwrap();
    let address = format!("http://127.0.0.1:{}", ingress.port());
    let shutdown = CancellationToken::new();
    tokio::spawn(ingress.run(shutdown.clone()));
    TestIngress {
        address,
        client: reqwest::Client::new(),
        shutdown,
    }
}

async fn all_services() -> TestIngress {
    let mut upstreams = HashMap::new();
    for service in ["auth", "tickets", "orders", "payments", "web"] {
        upstreams.insert(service, vec![spawn_echo(service).await]);
    }
    spawn_ingress(upstreams).await
}

impl TestIngress {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn paths_are_routed_by_prefix() {
    let ingress = all_services().await;
    for (path, service) in [
        ("/api/users/currentuser", "auth"),
        ("/api/tickets", "tickets"),
        ("/api/tickets/abc", "tickets"),
        ("/api/orders/1", "orders"),
        ("/api/payments", "payments"),
        ("/", "web"),
        ("/auth/signin", "web"),
        ("/api/usersx", "web"),
        ("/pkg/app.js", "web"),
    ] {
        let body: Value = ingress.get(path).await.json().await.unwrap();
        assert_eq!(body["service"], service, "{path}");
    }
}

#[tokio::test]
async fn metrics_are_served_on_their_own_port_only_and_trace_context_is_passed_on() {
    common::telemetry::metrics::install("ingress");
    let metrics_port = common::testing::free_port();
    let mut upstreams = HashMap::new();
    for service in ["tickets", "web"] {
        upstreams.insert(service, vec![spawn_echo(service).await]);
    }
    let ingress = spawn_ingress_with_metrics(upstreams, Some(metrics_port)).await;

    // The public port neither answers nor forwards `/metrics` (the web app would).
    let public = ingress.get("/metrics").await;
    assert_eq!(public.status(), 404);
    let body: Value = public.json().await.unwrap();
    assert_eq!(body, json!({"errors": [{"message": "Not Found"}]}));

    let caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let echoed: Value = ingress
        .client
        .get(format!("{}/api/tickets/t1", ingress.address))
        .header("traceparent", caller)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echoed["traceparent"], caller);

    let text = ingress
        .client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Named by the service routed to, never by the raw path.
    let line = text
        .lines()
        .find(|l| l.starts_with("http_requests_total{") && l.contains(r#"route="tickets""#))
        .unwrap_or_else(|| panic!("no request count for tickets in:\n{text}"));
    assert!(line.contains(r#"process="ingress""#), "{line}");
    assert!(line.contains(r#"status="200""#), "{line}");
    assert!(!text.contains("/api/tickets/t1"), "{text}");
}

#[tokio::test]
async fn method_path_query_and_body_are_forwarded() {
    let ingress = all_services().await;
    let response = ingress
        .client
        .put(format!("{}/api/tickets/t1?x=1&y=two", ingress.address))
        .header(header::CONTENT_TYPE, "application/json")
        .body(r#"{"title":"a"}"#)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["method"], "PUT");
    assert_eq!(body["uri"], "/api/tickets/t1?x=1&y=two");
    assert_eq!(body["body"], r#"{"title":"a"}"#);
    assert_eq!(body["realIp"], "127.0.0.1");
}

#[tokio::test]
async fn cookies_are_forwarded_both_ways() {
    let ingress = all_services().await;
    let response = ingress
        .client
        .get(format!("{}/api/users/currentuser", ingress.address))
        .header(header::COOKIE, "session=abc.def.ghi")
        .send()
        .await
        .unwrap();
    let set_cookies: Vec<String> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        set_cookies,
        ["session=from-upstream; Path=/; HttpOnly", "other=1; Path=/"]
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["cookie"], "session=abc.def.ghi");
}

#[tokio::test]
async fn a_stopped_service_answers_502_in_the_common_shape() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let ingress = spawn_ingress(HashMap::from([("auth", vec![dead])])).await;
    for path in ["/api/users/currentuser", "/"] {
        let response = ingress.get(path).await;
        assert_eq!(response.status(), 502, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"errors": [{"message": "Service unavailable"}]})
        );
    }
}

#[tokio::test]
async fn instances_take_turns_and_a_dead_one_is_skipped() {
    let live = spawn_echo("tickets").await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let ingress = spawn_ingress(HashMap::from([("tickets", vec![dead, live])])).await;
    for _ in 0..4 {
        let response = ingress.get("/api/tickets").await;
        assert_eq!(response.status(), 200);
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let ingress = all_services().await;
    let response = ingress
        .client
        .post(format!("{}/api/tickets", ingress.address))
        .header(header::CONTENT_TYPE, "application/json")
        .body(vec![b'x'; 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"errors": [{"message": "Request body too large"}]})
    );
}

/// An instance whose first connection reads one request and closes without answering, as
/// a keep-alive connection closed by the instance just as a request went out on it looks;
/// later connections answer 200. Returns its URL and how many requests it has read.
async fn spawn_dropping_first_connection()
-> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = vec![0; 16 * 1024];
            let Ok(read) = socket.read(&mut buffer).await else {
                continue;
            };
            if read == 0 {
                continue;
            }
            seen.fetch_add(1, Ordering::SeqCst);
            if std::mem::take(&mut first) {
                drop(socket);
                continue;
            }
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .await;
        }
    });
    (url, requests)
}

#[tokio::test]
async fn a_get_whose_connection_drops_is_sent_once_more_and_a_post_is_not() {
    use std::sync::atomic::Ordering;

    let (url, requests) = spawn_dropping_first_connection().await;
    let ingress = spawn_ingress(HashMap::from([("web", vec![url])])).await;
    let response = ingress.get("/pkg/gittix.js").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
    assert_eq!(requests.load(Ordering::SeqCst), 2);

    let (url, requests) = spawn_dropping_first_connection().await;
    let ingress = spawn_ingress(HashMap::from([("tickets", vec![url])])).await;
    let response = ingress
        .client
        .post(format!("{}/api/tickets", ingress.address))
        .json(&json!({"title": "t", "price": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}
