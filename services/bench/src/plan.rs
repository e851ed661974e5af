//! How much load each scenario gets: a full run, or a smoke run that only keeps the harness
//! working.

use std::time::Duration;

/// How much load each scenario gets.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What the report calls the run.
    pub name: &'static str,
    /// How long a fresh stack is left alone before its idle memory is read.
    pub settle: Duration,
    pub warmup: Duration,
    pub duration: Duration,
    pub connections: usize,
    /// Load runs of each side of a comparison (alternating).
    pub rounds: usize,
    /// Tickets listed when the home page is measured.
    pub ssr_tickets: usize,
    /// Tickets listed (the home page's included) when `GET /api/tickets` is measured.
    pub api_tickets: usize,
    pub purchases: usize,
    pub propagation_samples: usize,
    pub expirations: usize,
    /// The orders' expiration window, in seconds.
    pub window_secs: u64,
}

impl Plan {
    pub fn full() -> Self {
        Self {
            name: "Full",
            settle: Duration::from_secs(3),
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

    pub fn smoke() -> Self {
        Self {
            name: "Smoke",
            settle: Duration::from_secs(1),
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
