//! The markdown report: the results table (one row per figure, GitTix against its baseline
//! and target), the memory tables, the bundle's files, and a line saying how it was run.

use std::fmt::Write as _;
use std::time::Duration;

use common::contract::routes::TICKETS;

use crate::load::LoadResult;
use crate::measure::Resident;
use crate::plan::Plan;
use crate::scenarios::bundle::Bundle;
use crate::scenarios::memory::{Memory, without_nats};

/// One row of the results table.
pub struct Row {
    pub scenario: String,
    pub measured: String,
    pub baseline: String,
    pub ratio: String,
    pub target: String,
    pub met: Option<bool>,
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

pub fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// The row of a load comparison: throughput and latency of each side; the target is at
/// least half the baseline's throughput, without errors.
pub fn load_row(scenario: &str, ours: LoadResult, base: LoadResult) -> Row {
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

/// The row of a telemetry comparison: the same service with telemetry on (`ours`) and off
/// (`base`); the target is at most 5 % less throughput, without errors.
pub fn overhead_row(scenario: &str, ours: LoadResult, base: LoadResult) -> Row {
    let row = load_row(scenario, ours, base);
    let ratio = ours.requests_per_second / base.requests_per_second.max(1.0);
    Row {
        ratio: format!("{ratio:.3}× throughput ({:+.1} %)", (ratio - 1.0) * 100.0),
        target: "≥ 0.95×".to_owned(),
        met: Some(ratio >= 0.95 && ours.errors == 0),
        ..row
    }
}

/// The results table of `rows` alone.
pub fn table(rows: &[&Row]) -> String {
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
    out
}

/// Everything a run measured, by scenario.
pub struct Report {
    pub home_page: Row,
    pub api_list: Row,
    pub purchase_race: Row,
    pub propagation: [Row; 2],
    pub expiry: Row,
    /// Tracing and metrics against neither.
    pub telemetry: [Row; 3],
    pub bundle: Bundle,
    pub memory: Memory,
    /// How many processes the measured stack ran.
    pub processes: usize,
}

impl Report {
    /// The results table's rows, in the order it shows them.
    fn results(&self) -> [&Row; 11] {
        let [committed, requested] = &self.propagation;
        let [wasm, first_load] = &self.bundle.rows;
        let [metrics, traced, sampled] = &self.telemetry;
        [
            &self.home_page,
            &self.api_list,
            metrics,
            traced,
            sampled,
            &self.purchase_race,
            committed,
            requested,
            &self.expiry,
            wasm,
            first_load,
        ]
    }

    /// The report as markdown.
    pub fn render(&self, plan: &Plan) -> String {
        let mut out = table(&self.results());
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
        let memory = &self.memory.embedded;
        let _ = writeln!(
            out,
            "| process | resident (PSS), idle | resident (PSS), under `GET {TICKETS}` load |"
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
        let server_memory = &self.memory.server;
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
        for file in &self.bundle.files {
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
            plan.name,
            plan.rounds,
            plan.duration.as_secs(),
            plan.warmup.as_secs(),
            plan.connections,
            self.processes
        );
        out
    }
}
