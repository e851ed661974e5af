//! Slow clients for the servers' tests, over raw TCP so that nothing in between buffers or
//! completes the request for them.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// How long a test waits for the server to act before it gives up (a safety net, not an
/// assertion on how fast the server is).
pub const SAFETY: Duration = Duration::from_secs(30);

/// Sends `head` in full, then `trickle` a byte every `pause` and never finishes it. Returns
/// what the server sent before it closed the connection; panics if the connection is still
/// open after [`SAFETY`].
pub async fn trickle(address: SocketAddr, head: &str, pause: Duration) -> String {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("send head");
    let (mut reader, mut writer) = stream.into_split();
    let read = async move {
        let mut received = Vec::new();
        // EOF or a reset both mean the server closed the connection.
        let _ = reader.read_to_end(&mut received).await;
        received
    };
    let write = async move {
        loop {
            tokio::time::sleep(pause).await;
            if writer.write_all(b"a").await.is_err() {
                // The server is gone; wait for the reader to see it.
                std::future::pending::<()>().await;
            }
        }
    };
    let received = tokio::time::timeout(SAFETY, async {
        tokio::select! {
            received = read => received,
            () = write => unreachable!(),
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the server kept a trickling connection open for {SAFETY:?}"));
    String::from_utf8_lossy(&received).into_owned()
}

/// A request line and headers that never end: the client trickles one header's value.
pub async fn trickle_head(address: SocketAddr, pause: Duration) -> String {
    trickle(
        address,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ",
        pause,
    )
    .await
}

/// A complete head announcing a 1000-byte body, then the body a byte at a time.
pub async fn trickle_body(address: SocketAddr, path: &str, pause: Duration) -> String {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n"
    );
    trickle(address, &head, pause).await
}

/// Sends `GET path` on `stream` and reads one response (head and `Content-Length` body).
pub async fn get(stream: &mut TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    tokio::time::timeout(SAFETY, read_response(stream))
        .await
        .expect("no response in time")
}

async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())
                        .flatten()
                })
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                return text;
            }
        }
        let n = stream.read(&mut buffer).await.expect("read");
        assert!(n > 0, "connection closed mid-response: {text}");
        received.extend_from_slice(&buffer[..n]);
    }
}

/// Whether the server sends anything on `stream` within `wait` (false: still waiting).
pub async fn answers_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut byte = [0_u8; 1];
    matches!(
        tokio::time::timeout(wait, stream.peek(&mut byte)).await,
        Ok(Ok(1..))
    )
}
