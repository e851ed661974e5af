//! `<binary> healthcheck`: asks the running process's `/healthz` on `127.0.0.1:<port>` and
//! exits 0 when it answers 200, 1 otherwise. Container images use it for their health check,
//! so they need not ship curl. Standard library only, so every binary can afford it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Exits with the process's health when the binary's first argument is `healthcheck`;
/// returns normally otherwise. The port is read from `port_variable` (a port, or an
/// address ending in `:port`), else `default_port`.
pub fn run_if_asked(port_variable: &str, default_port: u16) {
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        exit_with_health(port_variable, default_port);
    }
}

/// Probes the process whose port is in `port_variable` (else `default_port`) and exits 0
/// when it is healthy, 1 otherwise.
pub fn exit_with_health(port_variable: &str, default_port: u16) -> ! {
    let port = std::env::var(port_variable)
        .ok()
        .and_then(|value| port_of(&value))
        .unwrap_or(default_port);
    std::process::exit(if probe(port) { 0 } else { 1 });
}

/// `3001` or `0.0.0.0:3001` → 3001.
fn port_of(value: &str) -> Option<u16> {
    value.rsplit(':').next()?.trim().parse().ok()
}

/// Whether `GET /healthz` on `127.0.0.1:port` answers 200 within two seconds.
pub fn probe(port: u16) -> bool {
    let timeout = Duration::from_secs(2);
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, timeout) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(timeout));
    if stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::{port_of, probe};

    #[test]
    fn ports_are_read_from_a_port_or_an_address() {
        assert_eq!(port_of("3001"), Some(3001));
        assert_eq!(port_of("0.0.0.0:3000"), Some(3000));
        assert_eq!(port_of("[::]:8080"), Some(8080));
        assert_eq!(port_of("nope"), None);
    }

    fn serve_once(answer: &'static [u8]) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0_u8; 64];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(answer);
        });
        port
    }

    #[test]
    fn a_200_is_healthy_and_anything_else_is_not() {
        assert!(probe(serve_once(b"HTTP/1.1 200 OK\r\n\r\n{}")));
        assert!(!probe(serve_once(
            b"HTTP/1.1 503 Service Unavailable\r\n\r\n"
        )));
        assert!(!probe(serve_once(b"garbage")));
    }

    #[test]
    fn nothing_listening_is_unhealthy() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(!probe(port));
    }
}
