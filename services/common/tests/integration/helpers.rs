use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::bus::{self, Bus, Delivery, ListenOptions, Listener, Outcome};
use common::events::{Event, TicketCreated};
use common::money::Price;
use common::testing::NatsServer;
use tokio_util::sync::CancellationToken;

/// What a recording listener should do with a delivery.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    Accept,
    /// Ask for a retry on the first delivery, accept afterwards.
    RetryOnce,
    /// Fail every delivery of events whose title is "poison" with a plain error: to the
    /// bus, an infrastructure failure (an outage), retried for as long as it lasts.
    FailOutage,
}

/// Records every event it handles, tagged with its instance name.
pub struct Recorder {
    pub instance: &'static str,
    pub behaviour: Behaviour,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

#[derive(Clone, Debug)]
pub struct Seen {
    pub event: TicketCreated,
    pub delivered: i64,
}

impl Listener<TicketCreated> for Recorder {
    async fn handle(&self, event: TicketCreated, delivery: &Delivery) -> anyhow::Result<Outcome> {
        if matches!(self.behaviour, Behaviour::FailOutage) && event.title == "poison" {
            anyhow::bail!("the database is unreachable");
        }
        tracing::debug!(instance = self.instance, "handling");
        self.seen.lock().unwrap().push(Seen {
            event,
            delivered: delivery.delivered,
        });
        if matches!(self.behaviour, Behaviour::RetryOnce) && delivery.delivered == 1 {
            return Ok(Outcome::RetryLater(Duration::from_millis(100)));
        }
        Ok(Outcome::Done)
    }
}

pub fn ticket(id: &str, title: &str) -> TicketCreated {
    TicketCreated {
        id: id.to_owned(),
        version: 0,
        title: title.to_owned(),
        price: Price::from_cents(1000).unwrap(),
        user_id: "u1".to_owned(),
    }
}

pub fn fast_options() -> ListenOptions {
    ListenOptions {
        ack_wait: Duration::from_secs(5),
        max_deliveries: 3,
        retry_base: Duration::from_millis(20),
    }
}

/// Starts `instance` of `service` listening for `TicketCreated`.
pub fn spawn_listener(
    bus: &Bus,
    service: &'static str,
    instance: &'static str,
    behaviour: Behaviour,
    seen: &Arc<Mutex<Vec<Seen>>>,
    shutdown: &CancellationToken,
) {
    let recorder = Arc::new(Recorder {
        instance,
        behaviour,
        seen: seen.clone(),
    });
    tokio::spawn(bus::listen::<TicketCreated, _>(
        bus.clone(),
        service,
        recorder,
        fast_options(),
        shutdown.clone(),
    ));
}

pub async fn start_bus() -> (NatsServer, Bus) {
    let nats = NatsServer::start();
    let bus = Bus::connect(&nats.url(), "test").await.expect("bus");
    (nats, bus)
}

pub fn ids(seen: &Mutex<Vec<Seen>>) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|s| s.event.id.clone())
        .collect()
}

pub fn subject_of<E: Event>() -> &'static str {
    E::SUBJECT
}
