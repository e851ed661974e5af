//! HTTP load with wrk (Debian's `wrk` package), and the bare axum handlers that serve the
//! same bytes from memory as baselines; [`compare`] loads the system and its baseline in turn.

use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use bytes::Bytes;

use crate::plan::Plan;

/// What one wrk run measured.
#[derive(Debug, Clone, Copy)]
pub struct LoadResult {
    pub p50: Duration,
    pub p99: Duration,
    pub requests_per_second: f64,
    pub errors: u64,
}

/// wrk reports its latency distribution and counters through this script, exactly (in
/// microseconds) rather than as rounded text.
const REPORT_SCRIPT: &str = r#"
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("GITTIX %d %d %d %d %d\n",
    latency:percentile(50), latency:percentile(99), summary.requests, summary.duration, errors))
end
"#;

/// Runs wrk against `url` for `duration` with `connections`, after a warm-up run.
pub fn wrk(
    url: &str,
    warmup: Duration,
    duration: Duration,
    connections: usize,
) -> anyhow::Result<LoadResult> {
    let script = tempfile::Builder::new().suffix(".lua").tempfile()?;
    std::fs::write(script.path(), REPORT_SCRIPT)?;
    let run = |length: Duration| -> anyhow::Result<String> {
        let output = Command::new("wrk")
            .args(["-t", "2", "-c", &connections.to_string(), "-d"])
            .arg(format!("{}s", length.as_secs().max(1)))
            .arg("--latency")
            .arg("-s")
            .arg(script.path())
            .arg(url)
            .output()
            .context("running wrk (the test command installs it: apt install wrk)")?;
        anyhow::ensure!(
            output.status.success(),
            "wrk failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    if !warmup.is_zero() {
        run(warmup)?;
    }
    let text = run(duration)?;
    let line = text
        .lines()
        .find(|l| l.starts_with("GITTIX "))
        .with_context(|| format!("no report in wrk's output: {text}"))?;
    let numbers: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap_or_default())
        .collect();
    let [p50, p99, requests, micros, errors] = numbers[..] else {
        anyhow::bail!("unexpected wrk report: {line}");
    };
    Ok(LoadResult {
        p50: Duration::from_micros(p50),
        p99: Duration::from_micros(p99),
        requests_per_second: requests as f64 / (micros.max(1) as f64 / 1e6),
        errors,
    })
}

/// The median of each figure over `runs` (the upper median of an even count).
pub fn median(runs: &[LoadResult]) -> LoadResult {
    fn mid<T: Copy + PartialOrd>(mut values: Vec<T>) -> T {
        values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        values[values.len() / 2]
    }
    LoadResult {
        p50: mid(runs.iter().map(|r| r.p50).collect()),
        p99: mid(runs.iter().map(|r| r.p99).collect()),
        requests_per_second: mid(runs.iter().map(|r| r.requests_per_second).collect()),
        errors: runs.iter().map(|r| r.errors).sum(),
    }
}

/// Loads `ours` and `base` in turn, `plan.rounds` times each, alternating which goes first,
/// and returns the median of each side's rounds: the machine's speed drifts over a run,
/// and alternating puts both sides through the same drift.
pub async fn compare(
    ours: String,
    base: String,
    plan: &Plan,
) -> anyhow::Result<(LoadResult, LoadResult)> {
    let (mut ours_runs, mut base_runs) = (Vec::new(), Vec::new());
    for round in 0..plan.rounds {
        if round % 2 == 0 {
            ours_runs.push(wrk_off_runtime(ours.clone(), plan).await?);
            base_runs.push(wrk_off_runtime(base.clone(), plan).await?);
        } else {
            base_runs.push(wrk_off_runtime(base.clone(), plan).await?);
            ours_runs.push(wrk_off_runtime(ours.clone(), plan).await?);
        }
    }
    Ok((median(&ours_runs), median(&base_runs)))
}

/// [`wrk`] off the async runtime (this process also serves the baselines).
async fn wrk_off_runtime(url: String, plan: &Plan) -> anyhow::Result<LoadResult> {
    let (warmup, duration, connections) = (plan.warmup, plan.duration, plan.connections);
    tokio::task::spawn_blocking(move || wrk(&url, warmup, duration, connections)).await?
}

/// A bare axum server answering every request with `body` as `content_type`; returns its
/// URL. The baseline for what a request through the whole system costs.
pub async fn baseline_server(body: Bytes, content_type: &'static str) -> anyhow::Result<String> {
    let app = Router::new().fallback(move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, content_type)], body).into_response() }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rps: f64, p50_ms: u64, errors: u64) -> LoadResult {
        LoadResult {
            p50: Duration::from_millis(p50_ms),
            p99: Duration::from_millis(p50_ms * 3),
            requests_per_second: rps,
            errors,
        }
    }

    #[test]
    fn the_median_of_runs_takes_each_figure_apart_and_adds_up_errors() {
        let median = median(&[run(300.0, 9, 0), run(100.0, 1, 2), run(200.0, 5, 1)]);
        assert_eq!(median.requests_per_second, 200.0);
        assert_eq!(median.p50, Duration::from_millis(5));
        assert_eq!(median.p99, Duration::from_millis(15));
        assert_eq!(median.errors, 3);
    }
}
