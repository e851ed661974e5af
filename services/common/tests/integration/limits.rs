//! The HTTP server's read timeouts and connection cap, against slow raw-TCP clients.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use common::http::{self, HttpLimits, Readiness};
use http_limits::testing::{self, answers_within, trickle_body, trickle_head};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// Slower than the one-second timeouts below.
const PAUSE: Duration = Duration::from_millis(300);

/// A server whose `POST /echo` reads the whole body, stopped when dropped.
struct TestServer {
    address: SocketAddr,
    shutdown: CancellationToken,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn spawn_server(limits: HttpLimits) -> TestServer {
    let api = Router::new().route("/echo", post(|body: Bytes| async move { body }));
    let router = http::service_router(api, Readiness::default());
    let listener = http::bind([127, 0, 0, 1].into(), 0).await.unwrap();
    let address = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(http::serve(listener, router, limits, shutdown.clone()));
    TestServer { address, shutdown }
}

fn one_second_timeouts() -> HttpLimits {
    HttpLimits {
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        ..HttpLimits::default()
    }
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_disconnected() {
    let server = spawn_server(one_second_timeouts()).await;
    let received = trickle_head(server.address, PAUSE).await;
    assert!(!received.contains(" 200 "), "{received}");
}

#[tokio::test]
async fn a_client_that_connects_and_sends_nothing_is_disconnected() {
    let server = spawn_server(one_second_timeouts()).await;
    let received = testing::trickle(server.address, "", Duration::from_secs(3600)).await;
    assert!(!received.contains(" 200 "), "{received}");
}

#[tokio::test]
async fn a_client_trickling_its_body_is_answered_408_and_disconnected() {
    let server = spawn_server(one_second_timeouts()).await;
    let received = trickle_body(server.address, "/echo", PAUSE).await;
    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
    // In the common error shape, like every other refusal.
    assert!(
        received.contains("content-type: application/json"),
        "{received}"
    );
    assert!(
        received.ends_with(r#"{"errors":[{"message":"Request body not received in time"}]}"#),
        "{received}"
    );
}

#[tokio::test]
async fn a_connection_past_the_cap_waits_until_another_closes() {
    let server = spawn_server(HttpLimits {
        max_connections: 1,
        ..HttpLimits::default()
    })
    .await;
    let mut first = TcpStream::connect(server.address).await.unwrap();
    assert!(testing::get(&mut first, "/healthz").await.contains(" 200 "));

    let mut second = TcpStream::connect(server.address).await.unwrap();
    let request = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
    tokio::io::AsyncWriteExt::write_all(&mut second, request.as_bytes())
        .await
        .unwrap();
    // The server still answers the first connection, and not the second.
    assert!(testing::get(&mut first, "/healthz").await.contains(" 200 "));
    assert!(!answers_within(&mut second, Duration::from_millis(500)).await);

    drop(first);
    assert!(answers_within(&mut second, testing::SAFETY).await);
}
