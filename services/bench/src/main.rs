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
//! JetStream round trip, expiry lateness, resident memory, the bundle's size, and what
//! tracing and metrics cost (`GET /api/tickets` at tickets instances with them on and off).

mod load;
mod measure;
mod plan;
mod report;
mod scenarios;
mod system;

use std::path::PathBuf;

use anyhow::Context as _;
use stack::Storage;

use crate::plan::Plan;
use crate::report::Report;
use crate::scenarios::memory::Memory;
use crate::scenarios::{
    api_list, bundle, expiry, home_page, propagation, purchase_race, telemetry,
};
use crate::system::Running;

/// The command line: `[--smoke] [--only telemetry] [--out FILE]`.
struct Args {
    smoke: bool,
    /// Only the telemetry overhead scenario (a quicker run after a change to it).
    only_telemetry: bool,
    out: Option<PathBuf>,
}

impl Args {
    fn from_env() -> Self {
        let args: Vec<String> = std::env::args().collect();
        Self {
            smoke: args.iter().any(|a| a == "--smoke"),
            only_telemetry: args
                .windows(2)
                .any(|w| w[0] == "--only" && w[1] == "telemetry"),
            out: args
                .iter()
                .position(|a| a == "--out")
                .and_then(|i| args.get(i + 1))
                .map(PathBuf::from),
        }
    }
}

/// The built web app: `GITTIX_SITE_ROOT`, or `site/` beside the executable's folder.
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
    let args = Args::from_env();
    let plan = if args.smoke {
        Plan::smoke()
    } else {
        Plan::full()
    };
    let site = site_root().context(
        "the web app is not built: run `cargo leptos build --release` (or set GITTIX_SITE_ROOT)",
    )?;

    eprintln!("starting the system…");
    let mut system = Running::start(Storage::Embedded, &plan, Some(site.clone())).await?;
    tokio::time::sleep(plan.settle).await;
    if args.only_telemetry {
        eprintln!("tracing and metrics overhead…");
        let rows = telemetry::run(&mut system, &plan).await?;
        system.stack.stop().await;
        let report = report::table(&rows.iter().collect::<Vec<_>>());
        println!("{report}");
        if let Some(path) = args.out {
            std::fs::write(&path, &report)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        return Ok(());
    }
    let idle = system.memory();

    eprintln!("home page…");
    let home = home_page::run(&system, &plan).await?;
    eprintln!("tickets API…");
    let api = api_list::run(&system, &plan).await?;
    eprintln!("purchases…");
    let race = purchase_race::run(&system, &plan).await?;
    eprintln!("expiry lateness ({} orders)…", plan.expirations);
    let lateness = expiry::run(&system, &plan).await?;
    let sizes = bundle::run(&system, &site).await?;
    eprintln!("tracing and metrics overhead…");
    let overhead = telemetry::run(&mut system, &plan).await?;
    let processes = system.stack.processes().len();
    system.stack.stop().await;

    // On a second stack, whose orders database can be read.
    eprintln!("event propagation…");
    let propagated = propagation::run(&plan, site).await?;

    let report = Report {
        home_page: home,
        api_list: api.row,
        purchase_race: race,
        propagation: propagated.rows,
        expiry: lateness,
        telemetry: overhead,
        bundle: sizes,
        memory: Memory::new(&idle, &api.peak, propagated.memory),
        processes,
    }
    .render(&plan);
    println!("{report}");
    if let Some(path) = args.out {
        std::fs::write(&path, &report).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
