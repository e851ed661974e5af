//! The whole system as the run command starts it (real processes: nats-server, every
//! service, the ingress), driven through the ingress like a user would, with processes
//! stopped and restarted mid-scenario. Each scenario asserts end states, never timings.

mod deployment;
mod disruption;
mod drain;
mod expiry;
mod failover;
mod helpers;
mod hostile;
mod money;
mod network_policies;
mod observability;
mod payment_race;
mod price_race;
mod reliability;
mod security;
