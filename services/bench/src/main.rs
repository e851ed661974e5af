//! `bench`: measures GitTix against baselines measured in the same run on the same machine,
//! and prints a markdown table (BENCHMARKS.md explains it).
//!
//! ```sh
//! .ci/bench            # builds in release mode, then runs this
//! bench --smoke        # tiny loads, seconds: keeps the harness working (the test command)
//! ```
//!
//! It starts the system itself (the run command's stack: NATS, every service, the web server
//! and the ingress, embedded storage), seeds it through the API, and measures:
//! `GET /api/tickets` and the server-rendered home page against bare axum handlers serving
//! the same bytes, 200 simultaneous purchases of one ticket, event propagation (a second
//! stack on a SurrealDB server, so that the orders replica can be read) against a raw
//! JetStream round trip, expiry lateness, resident memory, and the bundle's size.

mod load;
mod measure;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use common::session::SessionKeys;
use futures::StreamExt;
use serde_json::{Value, json};
use stack::{Stack, StackConfig, Storage};
use surrealdb::types::SurrealValue;

use common::events::Event as _;

use crate::load::{LoadResult, baseline_server};
use crate::measure::{Resident, Summary, gzip_size, resident, summarise};

/// How much load each scenario gets.
#[derive(Debug, Clone)]
struct Plan {
    warmup: Duration,
    duration: Duration,
    connections: usize,
    /// Load runs of each side of a comparison (alternating).
    rounds: usize,
    ssr_tickets: usize,
    api_tickets: usize,
    purchases: usize,
    propagation_samples: usize,
    expirations: usize,
    window_secs: u64,
}

impl Plan {
    fn full() -> Self {
        Self {
            warmup: Duration::from_secs(2),
            duration: Duration::from_secs(10),
            connections: 16,
            rounds: 3,
            ssr_tickets: 50,
            api_tickets: 100,
            purchases: 200,
            propagation_samples: 500,
            expirations: 1000,
            window_secs: 60,
        }
    }

    fn smoke() -> Self {
        Self {
            warmup: Duration::ZERO,
            duration: Duration::from_secs(1),
            connections: 4,
            rounds: 1,
            ssr_tickets: 3,
            api_tickets: 5,
            purchases: 10,
            propagation_samples: 10,
            expirations: 10,
            window_secs: 4,
        }
    }
}

/// The system under measurement, with what the benchmark needs to drive it.
struct Running {
    stack: Stack,
    url: String,
    client: reqwest::Client,
    keys: SessionKeys,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn start(
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

    fn cookie(&self) -> String {
        let id = common::db::new_id();
        format!(
            "session={}",
            self.keys.mint(&id, &format!("{id}@example.com"))
        )
    }

    async fn send(
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
    async fn list_tickets(&self, count: usize, price: f64) -> anyhow::Result<Vec<String>> {
        let seller = self.cookie();
        let ids = futures::stream::iter(0..count)
            .map(|i| {
                let seller = seller.clone();
                async move {
                    let body = json!({"title": format!("Benchmark ticket {i}"), "price": price});
                    let (status, ticket) = self
                        .send(reqwest::Method::POST, "/api/tickets", &seller, Some(body))
                        .await?;
                    anyhow::ensure!(status == 201, "listing failed: {status} {ticket}");
                    Ok(ticket["id"].as_str().unwrap_or_default().to_owned())
                }
            })
            .buffer_unordered(16)
            .collect::<Vec<anyhow::Result<String>>>()
            .await;
        ids.into_iter().collect()
    }

    /// Orders `ticket_id` as a new buyer once the orders service has the ticket.
    async fn order_when_replicated(&self, ticket_id: &str) -> anyhow::Result<(String, Value)> {
        let buyer = self.cookie();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let body = json!({"ticketId": ticket_id});
            let (status, order) = self
                .send(reqwest::Method::POST, "/api/orders", &buyer, Some(body))
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

    async fn body(&self, path: &str) -> anyhow::Result<Bytes> {
        Ok(self.get(path, &[]).await?.bytes().await?)
    }

    /// `GET path` as a browser asks for it (`Accept-Encoding: br, gzip`): the encoding the
    /// system chose and the bytes it sent.
    async fn served(&self, path: &str) -> anyhow::Result<(String, usize)> {
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
    fn memory(&self) -> BTreeMap<String, Resident> {
        self.stack
            .processes()
            .into_iter()
            .filter_map(|(name, pid)| Some((name, resident(pid)?)))
            .collect()
    }
}

/// One row of the results table.
struct Row {
    scenario: String,
    measured: String,
    baseline: String,
    ratio: String,
    target: String,
    met: Option<bool>,
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn load_row(scenario: &str, ours: LoadResult, base: LoadResult) -> Row {
    let ratio = ours.requests_per_second / base.requests_per_second.max(1.0);
    Row {
        scenario: scenario.to_owned(),
        measured: format!(
            "{:.0} req/s, p50 {}, p99 {}{}",
            ours.requests_per_second,
            ms(ours.p50),
            ms(ours.p99),
            if ours.errors > 0 {
                format!(", {} errors", ours.errors)
            } else {
                String::new()
            }
        ),
        baseline: format!(
            "{:.0} req/s, p50 {}, p99 {}",
            base.requests_per_second,
            ms(base.p50),
            ms(base.p99)
        ),
        ratio: format!("{ratio:.2}× throughput"),
        target: "≥ 0.5×".to_owned(),
        met: Some(ratio >= 0.5 && ours.errors == 0),
    }
}

fn site_root() -> Option<PathBuf> {
    if let Some(root) = std::env::var_os("GITTIX_SITE_ROOT") {
        return Some(root.into());
    }
    let beside = std::env::current_exe()
        .ok()?
        .parent()?
        .parent()?
        .join("site");
    beside.exists().then_some(beside)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let plan = if smoke { Plan::smoke() } else { Plan::full() };
    let site = site_root().context(
        "the web app is not built: run `cargo leptos build --release` (or set GITTIX_SITE_ROOT)",
    )?;

    let mut rows = Vec::new();
    let mut memory_rows: BTreeMap<String, (Resident, Resident)> = BTreeMap::new();

    eprintln!("starting the system…");
    let system = Running::start(Storage::Embedded, &plan, Some(site.clone())).await?;
    tokio::time::sleep(Duration::from_secs(if smoke { 1 } else { 3 })).await;
    let idle = system.memory();

    // The server-rendered home page with the SSR share of tickets.
    eprintln!("home page…");
    system.list_tickets(plan.ssr_tickets, 25.0).await?;
    let html = system.body("/").await?;
    let base = baseline_server(html.clone(), "text/html; charset=utf-8").await?;
    let (ours_ssr, base_ssr) =
        compare(format!("{}/", system.url), format!("{base}/"), &plan).await?;
    rows.push(load_row(
        &format!("SSR home page `/` ({} tickets)", plan.ssr_tickets),
        ours_ssr,
        base_ssr,
    ));

    // GET /api/tickets with the API share, and memory under that load.
    eprintln!("tickets API…");
    system
        .list_tickets(plan.api_tickets - plan.ssr_tickets, 25.0)
        .await?;
    let listing = system.body("/api/tickets").await?;
    let base = baseline_server(listing, "application/json").await?;
    let peak = {
        // Sample every process's resident memory while the load runs; keep each one's peak.
        let peaks = std::sync::Arc::new(std::sync::Mutex::new(BTreeMap::<String, Resident>::new()));
        let sampler = {
            let (pids, peaks) = (system.stack.processes(), peaks.clone());
            tokio::spawn(async move {
                loop {
                    for (name, pid) in &pids {
                        if let Some(now) = resident(*pid) {
                            let mut peaks = peaks.lock().unwrap();
                            let entry = peaks.entry(name.clone()).or_default();
                            *entry = entry.max(now);
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        let (ours, base_api) = compare(
            format!("{}/api/tickets", system.url),
            format!("{base}/api/tickets"),
            &plan,
        )
        .await?;
        sampler.abort();
        rows.push(load_row(
            &format!("`GET /api/tickets` ({} tickets)", plan.api_tickets),
            ours,
            base_api,
        ));
        peaks.lock().unwrap().clone()
    };
    for (name, rss) in &idle {
        memory_rows.insert(name.clone(), (*rss, *peak.get(name).unwrap_or(rss)));
    }

    // Simultaneous purchases of one ticket.
    eprintln!("purchases…");
    let ticket = system.list_tickets(1, 10.0).await?.remove(0);
    let (probe, order) = system.order_when_replicated(&ticket).await?;
    let order_id = order["id"].as_str().unwrap_or_default().to_owned();
    system
        .send(
            reqwest::Method::DELETE,
            &format!("/api/orders/{order_id}"),
            &probe,
            None,
        )
        .await?;
    let buyers: Vec<String> = (0..plan.purchases).map(|_| system.cookie()).collect();
    let attempts = buyers.iter().map(|buyer| {
        let (system, ticket) = (&system, &ticket);
        async move {
            let started = Instant::now();
            let body = json!({"ticketId": ticket});
            let (status, _) = system
                .send(reqwest::Method::POST, "/api/orders", buyer, Some(body))
                .await?;
            anyhow::Ok((status, started.elapsed()))
        }
    });
    let answers: Vec<(u16, Duration)> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let winners = answers.iter().filter(|(s, _)| *s == 201).count();
    let others_refused =
        answers.iter().filter(|(s, _)| *s == 400).count() == plan.purchases - winners;
    let latency = summarise(answers.iter().map(|(_, d)| *d).collect());
    rows.push(Row {
        scenario: format!("{} simultaneous purchases of one ticket", plan.purchases),
        measured: format!(
            "p50 {}, p99 {}, max {}; {winners} winner(s)",
            ms(latency.p50),
            ms(latency.p99),
            ms(latency.max)
        ),
        baseline: "—".to_owned(),
        ratio: "—".to_owned(),
        target: "exactly one winner".to_owned(),
        met: Some(winners == 1 && others_refused),
    });

    // Expiry lateness: many orders, all expiring within the window.
    eprintln!("expiry lateness ({} orders)…", plan.expirations);
    let lateness = expiry_lateness(&system, &plan).await?;
    rows.push(Row {
        scenario: format!("Expiry lateness, {} pending orders", plan.expirations),
        measured: format!(
            "p50 {}, p99 {}, max {} ({} fired)",
            ms(lateness.p50),
            ms(lateness.p99),
            ms(lateness.max),
            lateness.count
        ),
        baseline: "the order's `expiresAt`".to_owned(),
        ratio: "—".to_owned(),
        target: "p99 ≤ 1 s".to_owned(),
        met: Some(lateness.p99 <= Duration::from_secs(1) && lateness.count == plan.expirations),
    });

    // Bundle sizes: each file raw, gzip-compressed here at the best level, and as the
    // system serves it to a browser.
    let pkg = site.join("pkg");
    let mut bundle = Vec::new();
    let (_, mut first_load) = system.served("/").await?;
    let mut wasm_served = (String::new(), 0);
    let mut names: Vec<String> = std::fs::read_dir(&pkg)?
        .filter_map(|entry| Some(entry.ok()?.file_name().to_string_lossy().into_owned()))
        .filter(|name| {
            [".wasm", ".js", ".css"]
                .iter()
                .any(|ext| name.ends_with(ext))
        })
        .collect();
    names.sort();
    for name in names {
        let bytes = std::fs::read(pkg.join(&name))?;
        let served = system.served(&format!("/pkg/{name}")).await?;
        first_load += served.1;
        if name.ends_with(".wasm") {
            wasm_served = served.clone();
        }
        bundle.push(Bundled {
            name,
            raw: bytes.len(),
            gzip: gzip_size(&bytes),
            served,
        });
    }
    rows.push(Row {
        scenario: format!("WebAssembly bundle, as served ({})", wasm_served.0),
        measured: kib(wasm_served.1),
        baseline: "—".to_owned(),
        ratio: "—".to_owned(),
        target: "≤ 300 kB".to_owned(),
        met: Some(wasm_served.1 <= 300_000 && wasm_served.0 != "identity"),
    });
    rows.push(Row {
        scenario: "First page load (HTML + JS + WebAssembly + CSS), as served".to_owned(),
        measured: kib(first_load),
        baseline: "—".to_owned(),
        ratio: "—".to_owned(),
        target: "—".to_owned(),
        met: None,
    });

    let processes: Vec<(String, u32)> = system.stack.processes();
    system.stack.stop().await;

    // Event propagation, on a stack whose orders database can be read.
    eprintln!("event propagation…");
    let propagated = propagation(&plan, site.clone()).await?;
    let (ours, raw) = (propagated.committed_to_replica, propagated.raw);
    rows.insert(
        3,
        Row {
            scenario: "Event propagation: ticket edit committed → orders replica".to_owned(),
            measured: format!("p50 {}, p99 {}", ms(ours.p50), ms(ours.p99)),
            baseline: format!(
                "raw JetStream round trip: p50 {}, p99 {}",
                ms(raw.p50),
                ms(raw.p99)
            ),
            ratio: format!(
                "{:.1}× at p99",
                ours.p99.as_secs_f64() / raw.p99.as_secs_f64().max(1e-9)
            ),
            target: "p99 ≤ 10×".to_owned(),
            met: Some(ours.p99.as_secs_f64() <= 10.0 * raw.p99.as_secs_f64()),
        },
    );
    rows.insert(
        4,
        Row {
            scenario: "The same from the edit request sent (HTTP edit included)".to_owned(),
            measured: format!(
                "p50 {}, p99 {} (the edit answered: p50 {}, p99 {})",
                ms(propagated.request_to_replica.p50),
                ms(propagated.request_to_replica.p99),
                ms(propagated.request_answered.p50),
                ms(propagated.request_answered.p99)
            ),
            baseline: "—".to_owned(),
            ratio: format!(
                "{:.1}× at p99",
                propagated.request_to_replica.p99.as_secs_f64() / raw.p99.as_secs_f64().max(1e-9)
            ),
            target: "—".to_owned(),
            met: None,
        },
    );
    let server_memory = propagated.memory;

    let report = render(
        &plan,
        smoke,
        &rows,
        &memory_rows,
        &server_memory,
        &bundle,
        &processes,
    );
    println!("{report}");
    if let Some(path) = out {
        std::fs::write(&path, &report).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Loads `ours` and `base` in turn, `plan.rounds` times each, alternating which goes first,
/// and returns the median of each side's rounds: the machine's speed drifts over a run,
/// and alternating puts both sides through the same drift.
async fn compare(
    ours: String,
    base: String,
    plan: &Plan,
) -> anyhow::Result<(LoadResult, LoadResult)> {
    let (mut ours_runs, mut base_runs) = (Vec::new(), Vec::new());
    for round in 0..plan.rounds {
        if round % 2 == 0 {
            ours_runs.push(wrk(ours.clone(), plan).await?);
            base_runs.push(wrk(base.clone(), plan).await?);
        } else {
            base_runs.push(wrk(base.clone(), plan).await?);
            ours_runs.push(wrk(ours.clone(), plan).await?);
        }
    }
    Ok((load::median(&ours_runs), load::median(&base_runs)))
}

/// wrk off the async runtime (this process also serves the baselines).
async fn wrk(url: String, plan: &Plan) -> anyhow::Result<LoadResult> {
    let (warmup, duration, connections) = (plan.warmup, plan.duration, plan.connections);
    tokio::task::spawn_blocking(move || load::wrk(&url, warmup, duration, connections)).await?
}

/// Lateness of every expiration: when `expiration:complete` arrived minus the order's
/// `expiresAt`.
async fn expiry_lateness(system: &Running, plan: &Plan) -> anyhow::Result<Summary> {
    let nats = admin_nats(&system.stack).await?;
    let mut fired = nats
        .subscribe(common::events::ExpirationComplete::SUBJECT.to_owned())
        .await?;
    let tickets = system.list_tickets(plan.expirations, 5.0).await?;
    let orders: Vec<(String, i64)> = futures::stream::iter(tickets)
        .map(|ticket| async move {
            let (_, order) = system.order_when_replicated(&ticket).await?;
            let at = time::OffsetDateTime::parse(
                order["expiresAt"].as_str().unwrap_or_default(),
                &time::format_description::well_known::Rfc3339,
            )?;
            anyhow::Ok((
                order["id"].as_str().unwrap_or_default().to_owned(),
                (at.unix_timestamp_nanos() / 1_000_000) as i64,
            ))
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let expires: BTreeMap<String, i64> = orders.into_iter().collect();
    let mut lateness = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(plan.window_secs + 120);
    while lateness.len() < expires.len() {
        let message = tokio::time::timeout_at(deadline, fired.next()).await;
        let Ok(Some(message)) = message else { break };
        let arrived = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        let event: common::events::ExpirationComplete = serde_json::from_slice(&message.payload)?;
        if let Some(at) = expires.get(&event.order_id) {
            lateness.push(Duration::from_millis(
                u64::try_from(arrived - at).unwrap_or(0),
            ));
        }
    }
    Ok(summarise(lateness))
}

/// The replica's price, as the live query reports it.
#[derive(Debug, Default, SurrealValue)]
struct Priced {
    price: i64,
}

/// What the propagation scenario measured.
struct Propagation {
    /// From the edit's answer (the tickets service committed it) until the orders replica
    /// shows it: the event's way from one service's database to another's.
    committed_to_replica: Summary,
    /// From sending the edit request until the orders replica shows it.
    request_to_replica: Summary,
    /// From sending the edit request until its answer.
    request_answered: Summary,
    /// The raw JetStream publish-to-consume round trip.
    raw: Summary,
    /// Every process's idle resident memory on this stack.
    memory: BTreeMap<String, Resident>,
}

/// A ticket edit until the orders replica shows it, against a raw JetStream
/// publish-to-consume round trip on the same NATS. Runs on a stack whose services keep
/// their data in a SurrealDB server (as in Kubernetes), whose idle memory it also returns.
async fn propagation(plan: &Plan, site: PathBuf) -> anyhow::Result<Propagation> {
    let system = Running::start(Storage::Server, plan, Some(site)).await?;
    tokio::time::sleep(Duration::from_secs(if plan.propagation_samples > 10 {
        3
    } else {
        1
    }))
    .await;
    let memory = system.memory();
    let orders = system
        .stack
        .surreal_root("orders")
        .context("a SurrealDB server")?;
    let orders = common::db::connect(&orders).await?;
    let seller = system.cookie();
    let body = json!({"title": "Propagation", "price": 1});
    let (_, ticket) = system
        .send(reqwest::Method::POST, "/api/tickets", &seller, Some(body))
        .await?;
    let id = ticket["id"].as_str().unwrap_or_default().to_owned();
    let record = common::db::RecordId::new("ticket", id.as_str());
    let replica_price = |rid: common::db::RecordId| {
        let orders = orders.clone();
        async move {
            let prices: Vec<i64> = orders
                .query("SELECT VALUE price FROM $rid")
                .bind(("rid", rid))
                .await?
                .take(0)?;
            anyhow::Ok(prices.first().copied())
        }
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while replica_price(record.clone()).await?.is_none() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the ticket never reached the orders replica"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The replica's changes as SurrealDB pushes them (a live query): no polling delay, and
    // no polling load on the system being measured.
    let mut live = orders
        .query("LIVE SELECT price FROM ticket WHERE id = $rid")
        .bind(("rid", record.clone()))
        .await?;
    let mut changes = live.stream::<surrealdb::Notification<Priced>>(0)?;
    let (mut samples, mut answered) = (Vec::new(), Vec::new());
    for i in 0..plan.propagation_samples {
        let price = 2 + i as i64;
        let body = json!({"title": "Propagation", "price": price});
        let started = Instant::now();
        let (status, _) = system
            .send(
                reqwest::Method::PUT,
                &format!("/api/tickets/{id}"),
                &seller,
                Some(body),
            )
            .await?;
        anyhow::ensure!(status == 200, "edit failed: {status}");
        answered.push(started.elapsed());
        loop {
            let change = tokio::time::timeout(Duration::from_secs(30), changes.next())
                .await
                .context("the edit never reached the replica")?
                .context("the live query ended")??;
            if change.data.price == price * 100 {
                break;
            }
        }
        samples.push(started.elapsed());
    }
    drop(changes);

    // The same NATS, a scratch stream: publish, then receive through a pull consumer.
    let client = admin_nats(&system.stack).await?;
    let js = async_nats::jetstream::new(client);
    let stream = js
        .get_or_create_stream(async_nats::jetstream::stream::Config {
            name: "BENCH".into(),
            subjects: vec!["bench.>".into()],
            ..Default::default()
        })
        .await?;
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some("bench".into()),
            ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    let mut raw = Vec::new();
    for i in 0..plan.propagation_samples * 2 {
        let started = Instant::now();
        js.publish("bench.roundtrip", format!("{i}").into())
            .await?
            .await?;
        let message = messages
            .next()
            .await
            .context("the consumer ended")?
            .map_err(|e| anyhow::anyhow!(e))?;
        raw.push(started.elapsed());
        message.ack().await.map_err(|e| anyhow::anyhow!(e))?;
    }
    system.stack.stop().await;
    Ok(Propagation {
        committed_to_replica: summarise(
            samples
                .iter()
                .zip(&answered)
                .map(|(done, answered)| *done - *answered)
                .collect(),
        ),
        request_to_replica: summarise(samples),
        request_answered: summarise(answered),
        raw: summarise(raw),
        memory,
    })
}

/// The memory of every process but NATS, added up: the targets are for the stack without it.
fn without_nats<'a>(processes: impl Iterator<Item = (&'a String, Resident)>) -> Resident {
    processes
        .filter(|(name, _)| name.as_str() != "nats")
        .fold(Resident::default(), |total, (_, memory)| total.plus(memory))
}

/// One file of the web bundle: raw, gzip at the best level, and as served (encoding, bytes).
struct Bundled {
    name: String,
    raw: usize,
    gzip: usize,
    served: (String, usize),
}

fn render(
    plan: &Plan,
    smoke: bool,
    rows: &[Row],
    memory: &BTreeMap<String, (Resident, Resident)>,
    server_memory: &BTreeMap<String, Resident>,
    bundle: &[Bundled],
    processes: &[(String, u32)],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| scenario | GitTix | baseline | ratio | target | met |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for row in rows {
        let met = match row.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {met} |",
            row.scenario, row.measured, row.baseline, row.ratio, row.target
        );
    }
    let _ = writeln!(out);
    let both = |r: Resident| {
        format!(
            "{} (RSS {}, private {})",
            mib(r.pss),
            mib(r.rss),
            mib(r.private)
        )
    };
    // The targets are in decimal megabytes (the figures are shown in MiB).
    let verdict = |bytes: u64, limit_mb: u64| {
        if bytes <= limit_mb * 1_000_000 {
            "met"
        } else {
            "**not met**"
        }
    };
    let _ = writeln!(
        out,
        "| process | resident (PSS), idle | resident (PSS), under `GET /api/tickets` load |"
    );
    let _ = writeln!(out, "|---|---|---|");
    for (name, (idle, load)) in memory {
        let _ = writeln!(out, "| {name} | {} | {} |", both(*idle), both(*load));
    }
    let idle_total = without_nats(memory.iter().map(|(name, (idle, _))| (name, *idle)));
    let load_total = without_nats(memory.iter().map(|(name, (_, load))| (name, *load)));
    let _ = writeln!(
        out,
        "| **stack without NATS** | **{}** (target ≤ 100 MB: {}) | **{}** (target ≤ 250 MB: {}) |",
        both(idle_total),
        verdict(idle_total.pss, 100),
        both(load_total),
        verdict(load_total.pss, 250),
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| process, services on a SurrealDB server | resident (PSS), idle |"
    );
    let _ = writeln!(out, "|---|---|");
    for (name, idle) in server_memory {
        let _ = writeln!(out, "| {name} | {} |", both(*idle));
    }
    let server_total = without_nats(server_memory.iter().map(|(name, idle)| (name, *idle)));
    let _ = writeln!(
        out,
        "| **stack without NATS** | **{}** (target ≤ 100 MB: {}) |",
        both(server_total),
        verdict(server_total.pss, 100),
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| file | raw | gzip (best) | as served |");
    let _ = writeln!(out, "|---|---|---|---|");
    for file in bundle {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} ({}) |",
            file.name,
            kib(file.raw),
            kib(file.gzip),
            kib(file.served.1),
            file.served.0
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} run: {} rounds of {}s per load and side after a {}s warm-up each (medians of the rounds), {} connections (wrk, 2 threads); {} processes.",
        if smoke { "Smoke" } else { "Full" },
        plan.rounds,
        plan.duration.as_secs(),
        plan.warmup.as_secs(),
        plan.connections,
        processes.len()
    );
    out
}

/// A plain NATS client signed in as the operator of the stack's NATS server.
async fn admin_nats(stack: &stack::Stack) -> anyhow::Result<async_nats::Client> {
    let mut options = async_nats::ConnectOptions::new();
    if let Some(admin) = stack.nats_user(common::bus::access::ADMIN) {
        options = options.user_and_password(admin.name, admin.password);
    }
    Ok(options.connect(stack.nats_url()).await?)
}
