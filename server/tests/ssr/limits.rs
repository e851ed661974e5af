//! The web server's read timeouts (one second in these tests) against a slow raw-TCP client.

use std::net::SocketAddr;
use std::time::Duration;

use http_limits::testing::trickle_head;

use crate::spawn_web_with_deadline;

#[tokio::test(flavor = "multi_thread")]
async fn a_client_trickling_its_headers_to_the_web_server_is_disconnected() {
    let url = spawn_web_with_deadline("http://127.0.0.1:9", Duration::from_secs(20)).await;
    let address: SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    let received = trickle_head(address, Duration::from_millis(300)).await;
    assert!(!received.contains(" 200 "), "{received}");
}
