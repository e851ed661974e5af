//! The server-rendered home page `/` under load, against a bare axum handler serving the
//! same HTML from memory.

use crate::load::{baseline_server, compare};
use crate::plan::Plan;
use crate::report::{Row, load_row};
use crate::system::Running;

/// Lists the plan's SSR share of tickets, then loads the home page and its baseline.
pub async fn run(system: &Running, plan: &Plan) -> anyhow::Result<Row> {
    system.list_tickets(plan.ssr_tickets, 25.0).await?;
    let html = system.body("/").await?;
    let base = baseline_server(html, "text/html; charset=utf-8").await?;
    let (ours, base) = compare(format!("{}/", system.url), format!("{base}/"), plan).await?;
    Ok(load_row(
        &format!("SSR home page `/` ({} tickets)", plan.ssr_tickets),
        ours,
        base,
    ))
}
