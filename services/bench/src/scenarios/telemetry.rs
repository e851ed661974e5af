//! What tracing and metrics cost: `GET /api/tickets` straight at three extra tickets
//! instances, side by side in the same run, each with the same tickets in its own in-memory
//! database and on the stack's NATS:
//!
//! - **off**: `GITTIX_METRICS=off`, no span export (the baseline);
//! - **metrics**: as the run command and the cluster run it (metrics on, spans not
//!   exported);
//! - **metrics + traces**: also spans exported with OTLP to a collector stand-in in this
//!   process that accepts and drops them (so the cost of building, batching, encoding and
//!   sending spans is counted, and the stand-in's share of the two cores besides), once
//!   with every request traced and once with one in ten (`OTEL_TRACES_SAMPLER=traceidratio`,
//!   `OTEL_TRACES_SAMPLER_ARG=0.1`, as a busy deployment would run).
//!
//! Run last: the extra instances join the stack's tickets consumers.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use common::contract::routes::TICKETS;
use serde_json::json;
use stack::process::{Managed, Output, Spec};

use crate::load::compare;
use crate::plan::Plan;
use crate::report::{Row, overhead_row};
use crate::system::Running;

/// An OTLP/HTTP collector stand-in: accepts every export and keeps nothing.
async fn collector() -> anyhow::Result<String> {
    let app = Router::new().fallback(|| async { StatusCode::OK });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// A tickets instance like the stack's, on its own port and in-memory database, with
/// `extra` variables on top.
async fn instance(
    system: &mut Running,
    name: &str,
    extra: &[(&str, String)],
) -> anyhow::Result<Managed> {
    let stack_tickets = &system.stack.instances("tickets")[0].spec;
    let mut env: Vec<(String, String)> = stack_tickets
        .env
        .iter()
        .filter(|(key, _)| key != "PORT" && key != "SURREAL_URL")
        .cloned()
        .collect();
    let port = common::http::free_port()?;
    env.push(("PORT".into(), port.to_string()));
    env.push(("SURREAL_URL".into(), "mem://".into()));
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let spec = Spec {
        name: name.to_owned(),
        program: stack_tickets.program.clone(),
        args: stack_tickets.args.clone(),
        env,
        port: Some(port),
        ready_path: Some("/readyz"),
    };
    let mut process = Managed::new(spec, Output::Files(system.logs()));
    process.start()?;
    process.wait_ready(Duration::from_secs(60)).await?;
    Ok(process)
}

/// Lists `count` tickets on the instance at `url`.
async fn seed(system: &Running, url: &str, count: usize) -> anyhow::Result<()> {
    let cookie = system.cookie();
    let client = reqwest::Client::new();
    for n in 0..count {
        let response = client
            .post(format!("{url}{TICKETS}"))
            .header(reqwest::header::COOKIE, &cookie)
            .json(&json!({"title": format!("Telemetry {n}"), "price": 25}))
            .send()
            .await?;
        anyhow::ensure!(response.status() == 201, "listing: {}", response.status());
    }
    Ok(())
}

/// Loads the four instances (see the module docs); three rows, each against telemetry off.
pub async fn run(system: &mut Running, plan: &Plan) -> anyhow::Result<[Row; 3]> {
    let otlp = collector().await?;
    let off = [("GITTIX_METRICS", "off".to_owned())];
    let traced = [("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.clone())];
    let sampled = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp),
        ("OTEL_TRACES_SAMPLER", "traceidratio".to_owned()),
        ("OTEL_TRACES_SAMPLER_ARG", "0.1".to_owned()),
    ];
    let mut instances = Vec::new();
    for (name, extra) in [
        ("tickets-off", &off[..]),
        ("tickets-metrics", &[][..]),
        ("tickets-traced", &traced[..]),
        ("tickets-sampled", &sampled[..]),
    ] {
        instances.push(instance(system, name, extra).await?);
    }
    let urls: Vec<String> = instances
        .iter()
        .map(|p| format!("http://127.0.0.1:{}", p.port().unwrap_or_default()))
        .collect();
    for url in &urls {
        seed(system, url, plan.api_tickets).await?;
    }
    let listing = |url: &String| format!("{url}{TICKETS}");
    let (metrics, off_1) = compare(listing(&urls[1]), listing(&urls[0]), plan).await?;
    let (traced, off_2) = compare(listing(&urls[2]), listing(&urls[0]), plan).await?;
    let (sampled, off_3) = compare(listing(&urls[3]), listing(&urls[0]), plan).await?;
    for mut process in instances {
        process.stop(Duration::from_secs(5)).await;
    }
    let scenario = |what: &str| {
        format!(
            "`GET {TICKETS}` at the tickets service ({} tickets), {what} vs. telemetry off",
            plan.api_tickets
        )
    };
    Ok([
        overhead_row(&scenario("metrics"), metrics, off_1),
        overhead_row(
            &scenario("metrics + every request traced (OTLP)"),
            traced,
            off_2,
        ),
        overhead_row(&scenario("metrics + 1 in 10 traced (OTLP)"), sampled, off_3),
    ])
}
