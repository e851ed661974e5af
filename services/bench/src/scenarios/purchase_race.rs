//! Many buyers ordering one ticket at the same moment: exactly one may win, every other is
//! refused. No baseline; the latency of the answers is reported.

use std::time::{Duration, Instant};

use common::contract::OrderId;
use common::contract::routes::{self, ORDERS};
use serde_json::json;

use crate::measure::summarise;
use crate::plan::Plan;
use crate::report::{Row, ms};
use crate::system::Running;

/// Lists a ticket, waits until the orders service can sell it (an order, cancelled), then
/// sends the plan's purchases of it all at once.
pub async fn run(system: &Running, plan: &Plan) -> anyhow::Result<Row> {
    let ticket = system.list_tickets(1, 10.0).await?.remove(0);
    let (probe, order) = system.order_when_replicated(&ticket).await?;
    let order_id = OrderId::from(order["id"].as_str().unwrap_or_default());
    system
        .send(
            reqwest::Method::DELETE,
            &routes::order(&order_id),
            &probe,
            None,
        )
        .await?;
    let buyers: Vec<String> = (0..plan.purchases).map(|_| system.cookie()).collect();
    let attempts = buyers.iter().map(|buyer| {
        let ticket = &ticket;
        async move {
            let started = Instant::now();
            let body = json!({"ticketId": ticket});
            let (status, _) = system
                .send(reqwest::Method::POST, ORDERS, buyer, Some(body))
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
    Ok(Row {
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
    })
}
