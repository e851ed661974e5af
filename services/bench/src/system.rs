//! The system under measurement: the run command's stack started in a temporary directory,
//! and the requests the scenarios seed and drive it with.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::contract::TicketId;
use common::contract::routes::{ORDERS, TICKETS};
use common::session::SessionKeys;
use futures::StreamExt;
use serde_json::{Value, json};
use stack::{Stack, StackConfig, Storage};

use crate::measure::{Resident, resident};
use crate::plan::Plan;

/// The system under measurement, with what the benchmark needs to drive it.
pub struct Running {
    pub stack: Stack,
    pub url: String,
    client: reqwest::Client,
    keys: SessionKeys,
    _dir: tempfile::TempDir,
}

impl Running {
    pub async fn start(
        storage: Storage,
        plan: &Plan,
        site_root: Option<PathBuf>,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut config = StackConfig::new(dir.path())?;
        config.storage = storage;
        config.site_root = site_root;
        config.output = stack::process::Output::Files(dir.path().join("logs"));
        config.env = vec![
            (
                "ORDER_EXPIRATION_SECONDS".into(),
                plan.window_secs.to_string(),
            ),
            ("RUST_LOG".into(), "warn".into()),
            // The runner lists thousands of tickets and orders as a handful of users.
            ("MAX_LISTINGS_PER_HOUR".into(), "1000000".into()),
            ("MAX_OPEN_ORDERS_PER_USER".into(), "1000000".into()),
        ];
        let keys = SessionKeys::new(config.jwt_key.as_bytes(), Duration::from_secs(3600), false);
        let stack = Stack::start(config).await?;
        Ok(Self {
            url: stack.url(),
            stack,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()?,
            keys,
            _dir: dir,
        })
    }

    /// Where the processes write their logs.
    pub fn logs(&self) -> PathBuf {
        self._dir.path().join("logs")
    }

    /// The session cookie of a new user.
    pub fn cookie(&self) -> String {
        let id = common::db::new_id();
        format!(
            "session={}",
            self.keys.mint(&id, &format!("{id}@example.com"))
        )
    }

    /// `method path` as the user of `cookie`: the status and the JSON body (null if none).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        cookie: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .header(reqwest::header::COOKIE, cookie);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// Lists `count` tickets; returns their ids.
    pub async fn list_tickets(&self, count: usize, price: f64) -> anyhow::Result<Vec<TicketId>> {
        let seller = self.cookie();
        let ids = futures::stream::iter(0..count)
            .map(|i| {
                let seller = seller.clone();
                async move {
                    let body = json!({"title": format!("Benchmark ticket {i}"), "price": price});
                    let (status, ticket) = self
                        .send(reqwest::Method::POST, TICKETS, &seller, Some(body))
                        .await?;
                    anyhow::ensure!(status == 201, "listing failed: {status} {ticket}");
                    Ok(TicketId::from(ticket["id"].as_str().unwrap_or_default()))
                }
            })
            .buffer_unordered(16)
            .collect::<Vec<anyhow::Result<TicketId>>>()
            .await;
        ids.into_iter().collect()
    }

    /// Orders `ticket_id` as a new buyer once the orders service has the ticket; returns the
    /// buyer's cookie and the order.
    pub async fn order_when_replicated(
        &self,
        ticket_id: &TicketId,
    ) -> anyhow::Result<(String, Value)> {
        let buyer = self.cookie();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let body = json!({"ticketId": ticket_id});
            let (status, order) = self
                .send(reqwest::Method::POST, ORDERS, &buyer, Some(body))
                .await?;
            match status {
                201 => return Ok((buyer, order)),
                404 if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                _ => anyhow::bail!("ordering failed: {status} {order}"),
            }
        }
    }

    /// The body of `GET path`; an error unless it succeeded.
    pub async fn body(&self, path: &str) -> anyhow::Result<Bytes> {
        Ok(self.get(path, &[]).await?.bytes().await?)
    }

    /// `GET path` as a browser asks for it (`Accept-Encoding: br, gzip`): the encoding the
    /// system chose and the bytes it sent.
    pub async fn served(&self, path: &str) -> anyhow::Result<(String, usize)> {
        let response = self
            .get(path, &[(reqwest::header::ACCEPT_ENCODING, "br, gzip")])
            .await?;
        let encoding = response
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity")
            .to_owned();
        Ok((encoding, response.bytes().await?.len()))
    }

    /// `GET path` with the given headers; an error unless it succeeded.
    async fn get(
        &self,
        path: &str,
        headers: &[(reqwest::header::HeaderName, &str)],
    ) -> anyhow::Result<reqwest::Response> {
        let mut request = self.client.get(format!("{}{path}", self.url));
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        let response = request.send().await?;
        anyhow::ensure!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        Ok(response)
    }

    /// Resident memory of every process, by name.
    pub fn memory(&self) -> BTreeMap<String, Resident> {
        self.stack
            .processes()
            .into_iter()
            .filter_map(|(name, pid)| Some((name, resident(pid)?)))
            .collect()
    }

    /// A plain NATS client signed in as the operator of the stack's NATS server.
    pub async fn admin_nats(&self) -> anyhow::Result<async_nats::Client> {
        let mut options = async_nats::ConnectOptions::new();
        if let Some(admin) = self.stack.nats_user(common::bus::access::ADMIN) {
            options = options.user_and_password(admin.name, admin.password);
        }
        Ok(options.connect(self.stack.nats_url()).await?)
    }
}
