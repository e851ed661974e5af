//! `GET /api/tickets` under load, against a bare axum handler serving the same JSON from
//! memory; every process's peak memory is sampled meanwhile.

use std::collections::BTreeMap;

use common::contract::routes::TICKETS;

use crate::load::{baseline_server, compare};
use crate::measure::Resident;
use crate::plan::Plan;
use crate::report::{Row, load_row};
use crate::scenarios::memory::Peaks;
use crate::system::Running;

/// What the listing scenario measured.
pub struct ApiList {
    pub row: Row,
    /// Every process's peak resident memory during the load.
    pub peak: BTreeMap<String, Resident>,
}

/// Lists tickets up to the plan's API share (the home page's come first), then loads the
/// listing and its baseline.
pub async fn run(system: &Running, plan: &Plan) -> anyhow::Result<ApiList> {
    system
        .list_tickets(plan.api_tickets - plan.ssr_tickets, 25.0)
        .await?;
    let listing = system.body(TICKETS).await?;
    let base = baseline_server(listing, "application/json").await?;
    let peaks = Peaks::start(system);
    let (ours, base) = compare(
        format!("{}{TICKETS}", system.url),
        format!("{base}{TICKETS}"),
        plan,
    )
    .await?;
    let peak = peaks.stop();
    Ok(ApiList {
        row: load_row(
            &format!("`GET {TICKETS}` ({} tickets)", plan.api_tickets),
            ours,
            base,
        ),
        peak,
    })
}
