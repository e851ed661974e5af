//! Expiry lateness: many pending orders, all expiring within the window; each one's
//! `expiration:complete` event against the order's own `expiresAt`.

use std::collections::BTreeMap;
use std::time::Duration;

use common::events::Event as _;
use futures::StreamExt;

use crate::measure::{Summary, summarise};
use crate::plan::Plan;
use crate::report::{Row, ms};
use crate::system::Running;

/// Orders the plan's expirations of tickets and waits for each order to expire.
pub async fn run(system: &Running, plan: &Plan) -> anyhow::Result<Row> {
    let lateness = lateness(system, plan).await?;
    Ok(Row {
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
    })
}

/// Lateness of every expiration: when `expiration:complete` arrived minus the order's
/// `expiresAt`.
async fn lateness(system: &Running, plan: &Plan) -> anyhow::Result<Summary> {
    let nats = system.admin_nats().await?;
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
