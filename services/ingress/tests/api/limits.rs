//! The ingress's read timeouts (one second in these tests) against slow raw-TCP clients.

use std::net::SocketAddr;
use std::time::Duration;

use http_limits::testing::{trickle_body, trickle_head};

use crate::all_services;

/// Slower than the one-second timeouts the test ingress has.
const PAUSE: Duration = Duration::from_millis(300);

fn socket_address(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().unwrap()
}

#[tokio::test]
async fn a_client_trickling_its_headers_to_the_ingress_is_disconnected() {
    let ingress = all_services().await;
    let received = trickle_head(socket_address(&ingress.address), PAUSE).await;
    assert!(!received.contains(" 200 "), "{received}");
}

#[tokio::test]
async fn a_client_trickling_its_body_to_the_ingress_is_answered_408_and_disconnected() {
    let ingress = all_services().await;
    let received = trickle_body(socket_address(&ingress.address), "/api/tickets", PAUSE).await;
    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
}
