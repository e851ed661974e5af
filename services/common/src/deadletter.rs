//! The events consumers set aside, for operators: [`list`] them, [`show`] one, and [`replay`]
//! one (or [`replay_all`]) once the fault is fixed.
//!
//! A consumer sets an event aside (see [`crate::bus`]) by publishing it to
//! `deadletter.<service>.<original subject>` in [`DEAD_LETTER_STREAM`], with the headers below.
//! Replaying publishes it again to its original subject, so every consumer of that subject sees
//! it once more (handlers are idempotent), then deletes it from the dead-letter stream.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use bytes::Bytes;
use futures::StreamExt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::bus::{Bus, DEAD_LETTER_PREFIX, DEAD_LETTER_STREAM};

/// Header: the subject the event was published to.
pub const ORIGINAL_SUBJECT: &str = "Gittix-Original-Subject";
/// Header: why the consumer set the event aside.
pub const REASON: &str = "Gittix-Reason";
/// Header: how many times the consumer had received the event.
pub const DELIVERED: &str = "Gittix-Delivered";
/// Header: the event id (`Nats-Msg-Id`) it was published with, if it had one.
pub const EVENT_ID: &str = "Gittix-Event-Id";

/// The longest reason [`DeadLetter::summary`] shows; [`DeadLetter::details`] shows all of it.
const SUMMARY_REASON_CHARS: usize = 100;

/// One set-aside event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its sequence in [`DEAD_LETTER_STREAM`]: how operators name it.
    pub sequence: u64,
    /// The service whose consumer set it aside.
    pub service: String,
    /// The subject it was published to, and is replayed to.
    pub subject: String,
    pub reason: String,
    /// Deliveries to the consumer before it was set aside (0 if not recorded).
    pub deliveries: i64,
    pub event_id: Option<String>,
    /// When it was set aside (UTC).
    pub stored_at: OffsetDateTime,
    pub payload: Bytes,
}

impl DeadLetter {
    /// Reads what [`crate::bus`] recorded when it set the event aside under `stored_subject`.
    fn from_parts(
        sequence: u64,
        stored_subject: &str,
        headers: Option<&HeaderMap>,
        payload: Bytes,
        stored_at: OffsetDateTime,
    ) -> Self {
        let header = |name: &str| {
            headers
                .and_then(|headers| headers.get(name))
                .map(|value| value.as_str().to_owned())
        };
        let (service, rest) = stored_subject
            .strip_prefix(DEAD_LETTER_PREFIX)
            .and_then(|subject| subject.strip_prefix('.'))
            .and_then(|subject| subject.split_once('.'))
            .unwrap_or(("", stored_subject));
        Self {
            sequence,
            service: service.to_owned(),
            subject: header(ORIGINAL_SUBJECT).unwrap_or_else(|| rest.to_owned()),
            reason: header(REASON).unwrap_or_default(),
            deliveries: header(DELIVERED)
                .and_then(|delivered| delivered.parse().ok())
                .unwrap_or(0),
            event_id: header(EVENT_ID),
            stored_at: stored_at.to_offset(time::UtcOffset::UTC),
            payload,
        }
    }

    /// The subject it is kept under: `deadletter.<service>.<original subject>`.
    pub fn stored_subject(&self) -> String {
        format!("{DEAD_LETTER_PREFIX}.{}.{}", self.service, self.subject)
    }

    /// The event id a replay publishes it with: a fresh one, since JetStream drops a
    /// re-publish of the original id for an hour, and the same one for the same set-aside
    /// event, so a replay repeated after a failed delete is dropped as a duplicate.
    pub fn replay_id(&self) -> String {
        let original = self.event_id.as_deref().unwrap_or("deadletter");
        format!("{original}-replay-{}", self.sequence)
    }

    /// One line: sequence, time, service, subject, deliveries and the reason, shortened.
    pub fn summary(&self) -> String {
        format!(
            "{:>6}  {}  {:<10}  {:<28}  {:>3}  {}",
            self.sequence,
            self.stored_time(),
            self.service,
            self.subject,
            self.deliveries,
            shorten(&self.reason, SUMMARY_REASON_CHARS),
        )
    }

    /// Everything recorded about it, the payload as indented JSON (as text if it is not JSON).
    pub fn details(&self) -> String {
        let payload = match serde_json::from_slice::<serde_json::Value>(&self.payload) {
            Ok(json) => serde_json::to_string_pretty(&json).unwrap_or_default(),
            Err(_) => format!(
                "{} (not JSON)",
                String::from_utf8_lossy(&self.payload).trim_end()
            ),
        };
        format!(
            "sequence:    {}\nstored at:   {}\nservice:     {}\nsubject:     {}\nevent id:    {}\n\
             deliveries:  {}\nreason:      {}\npayload:\n{payload}",
            self.sequence,
            self.stored_time(),
            self.service,
            self.subject,
            self.event_id.as_deref().unwrap_or("-"),
            self.deliveries,
            self.reason,
        )
    }

    /// `stored_at` in RFC 3339, to the second.
    fn stored_time(&self) -> String {
        self.stored_at
            .replace_nanosecond(0)
            .ok()
            .and_then(|time| time.format(&Rfc3339).ok())
            .unwrap_or_else(|| self.stored_at.to_string())
    }
}

/// `text` cut to at most `chars` characters, an ellipsis marking the cut.
fn shorten(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars.saturating_sub(1)) {
        Some((end, _)) if text[end..].chars().nth(1).is_some() => format!("{}…", &text[..end]),
        _ => text.to_owned(),
    }
}

/// Every set-aside event, oldest first.
pub async fn list(bus: &Bus) -> anyhow::Result<Vec<DeadLetter>> {
    list_for(bus, None).await
}

/// The events `service` set aside (every service's when `None`), oldest first.
pub async fn list_for(bus: &Bus, service: Option<&str>) -> anyhow::Result<Vec<DeadLetter>> {
    let stream = bus
        .jetstream()
        .get_stream(DEAD_LETTER_STREAM)
        .await
        .context("opening the dead-letter stream")?;
    let consumer = stream
        .create_consumer(pull::Config {
            filter_subject: format!("{DEAD_LETTER_PREFIX}.{}.>", service.unwrap_or("*")),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::None,
            inactive_threshold: Duration::from_secs(30),
            ..Default::default()
        })
        .await
        .context("reading the dead-letter stream")?;
    let mut letters = Vec::new();
    loop {
        let mut batch = consumer
            .fetch()
            .max_messages(500)
            .messages()
            .await
            .context("reading the dead-letter stream")?;
        let mut more = false;
        while let Some(message) = batch.next().await {
            let message = message.map_err(|error| anyhow::anyhow!(error))?;
            let info = message.info().map_err(|error| anyhow::anyhow!(error))?;
            more = info.pending > 0;
            letters.push(DeadLetter::from_parts(
                info.stream_sequence,
                &message.subject,
                message.headers.as_ref(),
                message.payload.clone(),
                info.published,
            ));
        }
        if !more {
            break;
        }
    }
    // An ephemeral consumer goes by itself once idle; this only tidies up sooner.
    let _ = stream.delete_consumer(&consumer.cached_info().name).await;
    Ok(letters)
}

/// How many set-aside events of `service` the dead-letter stream keeps.
pub async fn count_for(bus: &Bus, service: &str) -> anyhow::Result<u64> {
    let stream = bus
        .jetstream()
        .get_stream(DEAD_LETTER_STREAM)
        .await
        .context("opening the dead-letter stream")?;
    let mut subjects = stream
        .info_with_subjects(format!("{DEAD_LETTER_PREFIX}.{service}.>"))
        .await
        .context("reading the dead-letter stream")?;
    let mut count = 0;
    while let Some(subject) = subjects.next().await {
        let (_, messages) = subject.map_err(|error| anyhow::anyhow!(error))?;
        count += messages as u64;
    }
    Ok(count)
}

/// The set-aside event at `sequence` in the dead-letter stream.
pub async fn show(bus: &Bus, sequence: u64) -> anyhow::Result<DeadLetter> {
    let stream = bus
        .jetstream()
        .get_stream(DEAD_LETTER_STREAM)
        .await
        .context("opening the dead-letter stream")?;
    let message = stream
        .get_raw_message(sequence)
        .await
        .with_context(|| format!("no set-aside event {sequence}"))?;
    Ok(DeadLetter::from_parts(
        message.sequence,
        &message.subject,
        Some(&message.headers),
        message.payload,
        message.time,
    ))
}

/// Publishes the set-aside event at `sequence` to its original subject again (under
/// [`DeadLetter::replay_id`]), waits for JetStream to store it, then deletes it from the
/// dead-letter stream. Returns what was replayed.
pub async fn replay(bus: &Bus, sequence: u64) -> anyhow::Result<DeadLetter> {
    let letter = show(bus, sequence).await?;
    replay_letter(bus, &letter).await?;
    Ok(letter)
}

/// Replays every event `service` set aside (every service's when `None`), oldest first;
/// stops at the first failure (what was replayed by then is gone from the dead-letter stream,
/// so running it again carries on). Returns what was replayed.
pub async fn replay_all(bus: &Bus, service: Option<&str>) -> anyhow::Result<Vec<DeadLetter>> {
    let letters = list_for(bus, service).await?;
    for letter in &letters {
        replay_letter(bus, letter).await?;
    }
    Ok(letters)
}

async fn replay_letter(bus: &Bus, letter: &DeadLetter) -> anyhow::Result<()> {
    let sequence = letter.sequence;
    bus.publish_raw(&letter.subject, &letter.replay_id(), letter.payload.clone())
        .await
        .with_context(|| format!("replaying set-aside event {sequence}"))?;
    let deleted = async {
        let stream = bus.jetstream().get_stream(DEAD_LETTER_STREAM).await?;
        anyhow::Ok(stream.delete_message(sequence).await?)
    }
    .await;
    match deleted {
        Ok(true) => Ok(()),
        Ok(false) => anyhow::bail!(
            "replayed set-aside event {sequence}, but the dead-letter stream did not delete it"
        ),
        Err(error) => Err(error.context(format!(
            "replayed set-aside event {sequence}, but could not delete it from the dead-letter \
             stream (replaying it again within an hour is dropped as a duplicate)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(headers: Option<&HeaderMap>) -> DeadLetter {
        DeadLetter::from_parts(
            7,
            "deadletter.orders.events.ticket.created",
            headers,
            Bytes::from_static(br#"{"id":"t1","price":1000}"#),
            OffsetDateTime::from_unix_timestamp_nanos(1_714_564_800_123_456_789).unwrap(),
        )
    }

    #[test]
    fn a_dead_letter_reads_what_was_recorded_when_it_was_set_aside() {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGINAL_SUBJECT, "events.ticket.created");
        headers.insert(REASON, "poison on delivery 3: no such ticket");
        headers.insert(DELIVERED, "3");
        headers.insert(EVENT_ID, "evt-1");

        let letter = letter(Some(&headers));

        assert_eq!(letter.sequence, 7);
        assert_eq!(letter.service, "orders");
        assert_eq!(letter.subject, "events.ticket.created");
        assert_eq!(letter.reason, "poison on delivery 3: no such ticket");
        assert_eq!(letter.deliveries, 3);
        assert_eq!(letter.event_id.as_deref(), Some("evt-1"));
        assert_eq!(
            letter.stored_subject(),
            "deadletter.orders.events.ticket.created"
        );
        assert_eq!(letter.replay_id(), "evt-1-replay-7");
    }

    #[test]
    fn without_headers_the_subject_still_names_the_service_and_the_original_subject() {
        let letter = letter(None);

        assert_eq!(letter.service, "orders");
        assert_eq!(letter.subject, "events.ticket.created");
        assert_eq!(letter.deliveries, 0);
        assert_eq!(letter.replay_id(), "deadletter-replay-7");
    }

    #[test]
    fn the_summary_is_one_line_with_the_time_to_the_second_and_a_shortened_reason() {
        let mut headers = HeaderMap::new();
        headers.insert(REASON, "x".repeat(300).as_str());

        let summary = letter(Some(&headers)).summary();

        assert!(!summary.contains('\n'), "{summary}");
        assert!(summary.contains("2024-05-01T12:00:00Z"), "{summary}");
        assert!(summary.contains("orders"), "{summary}");
        assert!(
            summary.ends_with(&format!("{}…", "x".repeat(99))),
            "{summary}"
        );
    }

    #[test]
    fn the_details_show_the_payload_as_indented_json() {
        let details = letter(None).details();

        assert!(details.contains("sequence:    7"), "{details}");
        assert!(details.contains("{\n  \"id\": \"t1\""), "{details}");
    }

    #[test]
    fn a_payload_that_is_not_json_is_shown_as_text() {
        let mut letter = letter(None);
        letter.payload = Bytes::from_static(b"{not json");

        assert!(letter.details().ends_with("{not json (not JSON)"));
    }

    #[test]
    fn shortening_cuts_on_characters_and_leaves_short_text_alone() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcd", 3), "ab…");
        assert_eq!(shorten("ééééé", 4), "ééé…");
        assert_eq!(shorten("", 3), "");
    }
}
