//! How every GitTix HTTP server (the services, the ingress, the web server) accepts and
//! reads connections, and refuses requests another site made a browser send
//! ([`cross_site`]). A slow or silent client cannot hold a connection and its memory for
//! ever:
//!
//! - the request head (request line and headers) must arrive within
//!   `HTTP_HEADER_READ_TIMEOUT_SECONDS`; hyper's timer also bounds an idle keep-alive
//!   connection, since waiting for the next request is waiting for its head. A new
//!   connection gets that long to send its first byte, then (hyper's clock) that long again
//!   for the rest of its head;
//! - the request body must arrive within `HTTP_BODY_READ_TIMEOUT_SECONDS` of its head, as a
//!   whole (a client trickling a byte at a time does not restart the clock), or the request
//!   is answered 408 and the connection closed;
//! - at most `HTTP_MAX_CONNECTIONS` connections are served at once; past that, new
//!   connections are not accepted and wait in the kernel's listen backlog until one closes.
//!
//! Only reading the request is bounded, never the handler: a payment waits up to ~40 s for
//! its provider and a page has 20 s to render.
//!
//! `axum::serve` (0.8) cannot do this: it builds a fresh hyper-util `auto::Builder` per
//! connection with no timer, so hyper's header timeout never runs, and it accepts without
//! limit. [`serve`] is its accept loop with those three limits added, keeping
//! `TCP_NODELAY`, `ConnectInfo<SocketAddr>`, upgrades and the same graceful shutdown (stop
//! accepting, let every connection finish its requests in flight).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::{Listener, ListenerExt as _};
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};

pub mod cross_site;
#[cfg(feature = "testing")]
pub mod testing;

/// The variable for [`HttpLimits::header_read_timeout`].
pub const HEADER_READ_TIMEOUT_VAR: &str = "HTTP_HEADER_READ_TIMEOUT_SECONDS";
/// The variable for [`HttpLimits::body_read_timeout`].
pub const BODY_READ_TIMEOUT_VAR: &str = "HTTP_BODY_READ_TIMEOUT_SECONDS";
/// The variable for [`HttpLimits::max_connections`].
pub const MAX_CONNECTIONS_VAR: &str = "HTTP_MAX_CONNECTIONS";

/// How long a client may take to send a request, and how many connections are served at
/// once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// `HTTP_HEADER_READ_TIMEOUT_SECONDS`, default 10: longest wait for a request's line and
    /// headers, counted from the first wait (so also the longest idle keep-alive).
    pub header_read_timeout: Duration,
    /// `HTTP_BODY_READ_TIMEOUT_SECONDS`, default 30: longest wait for a request's whole body
    /// after its headers.
    pub body_read_timeout: Duration,
    /// `HTTP_MAX_CONNECTIONS`, default 1024: connections served at once; more wait in the
    /// listen backlog.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

/// How long a client of these servers (the ingress's proxy, the web server's backend client)
/// keeps an idle connection for the next request: under the servers' own idle limit (the
/// header read timeout, 10 s by default), so that the client never sends a request on a
/// connection the server is closing at that moment. A GET sent there is sent again; a POST
/// fails.
pub const CLIENT_IDLE_TIMEOUT: Duration = Duration::from_secs(4);

/// A limit variable that does not hold a usable value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidLimit {
    pub name: &'static str,
    pub value: String,
    pub reason: &'static str,
}

impl std::fmt::Display for InvalidLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={:?}: {}", self.name, self.value, self.reason)
    }
}

impl std::error::Error for InvalidLimit {}

impl HttpLimits {
    /// Reads the limits from the process environment; unset variables take the defaults.
    pub fn from_env() -> Result<Self, InvalidLimit> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the limits through `lookup` (a variable's value, if set).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, InvalidLimit> {
        let defaults = Self::default();
        let positive = |name: &'static str, default: u64| -> Result<u64, InvalidLimit> {
            let Some(value) = lookup(name) else {
                return Ok(default);
            };
            match value.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(InvalidLimit {
                    name,
                    value,
                    reason: "must be a whole number above 0",
                }),
            }
        };
        let max_connections = positive(MAX_CONNECTIONS_VAR, defaults.max_connections as u64)?;
        Ok(Self {
            header_read_timeout: Duration::from_secs(positive(
                HEADER_READ_TIMEOUT_VAR,
                defaults.header_read_timeout.as_secs(),
            )?),
            body_read_timeout: Duration::from_secs(positive(
                BODY_READ_TIMEOUT_VAR,
                defaults.body_read_timeout.as_secs(),
            )?),
            max_connections: usize::try_from(max_connections)
                .unwrap_or(Semaphore::MAX_PERMITS)
                .min(Semaphore::MAX_PERMITS),
        })
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then stops
/// accepting and waits for every connection to finish its requests in flight.
///
/// Every connection gets `TCP_NODELAY` (axum 0.8 no longer sets it): without it a response
/// written in several pieces, as a proxied or streamed body is, waits for the peer's
/// delayed acknowledgement on every request (see BENCHMARKS.md). Handlers can extract
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut listener = listener.tap_io(no_delay);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    // CONNECT protocol for HTTP/2 WebSockets, as axum::serve enables it.
    builder
        .http2()
        .timer(TokioTimer::new())
        .enable_connect_protocol();
    let connections = Arc::new(Semaphore::new(limits.max_connections));

    // As axum::serve: dropping `signal_rx` tells connections to shut down gracefully; each
    // connection holds a `close_rx` until it ends.
    let (signal_tx, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        drop(signal_rx);
    });
    let (close_tx, close_rx) = watch::channel(());

    loop {
        // A permit first, the connection second: past the cap, connections stay in the
        // kernel's backlog (the client waits, nothing is held here) instead of being
        // accepted and then refused.
        let permit = match connections.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    "connection limit reached; new connections wait"
                );
                tokio::select! {
                    permit = connections.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    () = signal_tx.closed() => break,
                }
            }
        };
        let (io, remote) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = signal_tx.closed() => break,
        };
        let router = router.clone();
        let body_timeout = limits.body_read_timeout;
        let service = hyper::service::service_fn(move |request| {
            handle(router.clone(), request, remote, body_timeout)
        });
        let builder = builder.clone();
        let signal_tx = signal_tx.clone();
        let close_rx = close_rx.clone();
        let header_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            // hyper-util's auto builder reads the first bytes to tell HTTP/1 from HTTP/2
            // before hyper's header timer starts, with no timeout of its own: a client that
            // connects and sends nothing would stay for ever.
            let mut first = [0_u8; 1];
            if !matches!(
                tokio::time::timeout(header_timeout, io.peek(&mut first)).await,
                Ok(Ok(1..))
            ) {
                tracing::debug!(%remote, "connection closed: nothing sent in time or closed by the client");
                drop(permit);
                drop(close_rx);
                return;
            }
            let mut conn = pin!(builder.serve_connection_with_upgrades(TokioIo::new(io), service));
            let result = tokio::select! {
                result = conn.as_mut() => result,
                () = signal_tx.closed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(error) = result {
                // A client cut off for being slow shows here ("read header from client
                // timeout").
                tracing::debug!(%remote, error = %error, "connection ended with an error");
            }
            drop(permit);
            drop(close_rx);
        });
    }

    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
    Ok(())
}

/// Turns off Nagle's algorithm on an accepted connection.
pub fn no_delay(stream: &mut TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "could not set TCP_NODELAY");
    }
}

/// One request: the body under its read deadline, the peer's address as `ConnectInfo`, and
/// 408 if the deadline passed while the handler read the body.
async fn handle(
    mut router: Router,
    request: Request<Incoming>,
    remote: SocketAddr,
    body_timeout: Duration,
) -> Result<Response, Infallible> {
    let timed_out = Arc::new(AtomicBool::new(false));
    let mut request = request.map(|body| {
        Body::new(DeadlineBody {
            inner: body,
            deadline: Instant::now() + body_timeout,
            sleep: None,
            timed_out: timed_out.clone(),
        })
    });
    request.extensions_mut().insert(ConnectInfo(remote));
    let response = tower::Service::call(&mut router, request).await?;
    if timed_out.load(Ordering::Relaxed) {
        tracing::info!(%remote, "request body not received in time");
        // The common error shape (docs/spec.md §2), written here: this crate sits below
        // `common`.
        return Ok((
            StatusCode::REQUEST_TIMEOUT,
            [
                (header::CONNECTION, "close"),
                (header::CONTENT_TYPE, "application/json"),
            ],
            r#"{"errors":[{"message":"Request body not received in time"}]}"#,
        )
            .into_response());
    }
    Ok(response)
}

/// A request body that fails once its deadline passes. Unlike tower-http's `TimeoutBody`,
/// whose clock restarts at every frame, the deadline is for the whole body, so a client
/// sending a byte now and then is still cut off.
struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    /// Made on the first wait, so requests without a body never touch the timer.
    sleep: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

/// The error a [`DeadlineBody`] ends with.
#[derive(Debug)]
struct BodyReadTimeout;

impl std::fmt::Display for BodyReadTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request body not received in time")
    }
}

impl std::error::Error for BodyReadTimeout {}

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.as_mut().poll(cx).is_ready() {
            this.timed_out.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(Box::new(BodyReadTimeout))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn unset_variables_take_the_defaults() {
        assert_eq!(
            HttpLimits::from_lookup(lookup(&[])).unwrap(),
            HttpLimits::default()
        );
    }

    #[test]
    fn each_variable_sets_its_limit() {
        let limits = HttpLimits::from_lookup(lookup(&[
            (HEADER_READ_TIMEOUT_VAR, "3"),
            (BODY_READ_TIMEOUT_VAR, "7"),
            (MAX_CONNECTIONS_VAR, "12"),
        ]))
        .unwrap();
        assert_eq!(limits.header_read_timeout, Duration::from_secs(3));
        assert_eq!(limits.body_read_timeout, Duration::from_secs(7));
        assert_eq!(limits.max_connections, 12);
    }

    #[test]
    fn a_zero_or_unparsable_limit_is_refused_by_name() {
        for (name, value) in [
            (HEADER_READ_TIMEOUT_VAR, "0"),
            (BODY_READ_TIMEOUT_VAR, "ten"),
            (MAX_CONNECTIONS_VAR, "-1"),
        ] {
            let error = HttpLimits::from_lookup(lookup(&[(name, value)])).unwrap_err();
            assert_eq!(error.name, name);
            assert!(error.to_string().contains(name), "{error}");
        }
    }
}
