//! Resident memory of every process: idle on a fresh stack, and at its peak while
//! `GET /api/tickets` is under load. No baseline: the targets are for the stack without
//! NATS (≤ 100 MB idle, ≤ 250 MB under load).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::measure::{Resident, resident};
use crate::system::Running;

/// What the memory tables show.
pub struct Memory {
    /// Each process of the stack with embedded storage: idle, and its peak under load.
    pub embedded: BTreeMap<String, (Resident, Resident)>,
    /// Each process of the stack whose services use a SurrealDB server, idle.
    pub server: BTreeMap<String, Resident>,
}

impl Memory {
    /// Pairs each process's `idle` memory with its `peak` (its idle figure if no peak was
    /// sampled).
    pub fn new(
        idle: &BTreeMap<String, Resident>,
        peak: &BTreeMap<String, Resident>,
        server: BTreeMap<String, Resident>,
    ) -> Self {
        let embedded = idle
            .iter()
            .map(|(name, rss)| (name.clone(), (*rss, *peak.get(name).unwrap_or(rss))))
            .collect();
        Self { embedded, server }
    }
}

/// Samples every process's resident memory every 100 ms until stopped, keeping each one's
/// peak.
pub struct Peaks {
    peaks: Arc<Mutex<BTreeMap<String, Resident>>>,
    sampler: tokio::task::JoinHandle<()>,
}

impl Peaks {
    pub fn start(system: &Running) -> Self {
        let peaks = Arc::new(Mutex::new(BTreeMap::<String, Resident>::new()));
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
        Self { peaks, sampler }
    }

    /// Stops sampling; each process's peak.
    pub fn stop(self) -> BTreeMap<String, Resident> {
        self.sampler.abort();
        self.peaks.lock().unwrap().clone()
    }
}

/// The memory of every process but NATS, added up: the targets are for the stack without it.
pub fn without_nats<'a>(processes: impl Iterator<Item = (&'a String, Resident)>) -> Resident {
    processes
        .filter(|(name, _)| name.as_str() != "nats")
        .fold(Resident::default(), |total, (_, memory)| total.plus(memory))
}
