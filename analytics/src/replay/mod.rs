//! Replaying a window of the stream's events after an outage: read the window once, from the
//! stream's retention or from the archive, into a spool file; then send it, in each customer's
//! original order, back onto the stream or straight into one consumer's handler, recording
//! what is done in a cursor file so that a stopped replay resumes where it left off.
//!
//! Consumers deduplicate by event id, so a record sent twice (a replay run again, or the one
//! batch in flight when the process was killed) changes nothing. See docs/runbooks/replay.md.

pub mod deliver;
pub mod source;
pub mod spool;

use std::collections::BTreeSet;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Which records to replay: events whose own time (the envelope's `time`) is in `[from, to)`,
/// optionally only some customers' and some event types'.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    /// Only these customers (partition keys); every customer if empty.
    pub customers: BTreeSet<String>,
    /// Only these event types (`order.placed`, …); every type if empty.
    pub event_types: BTreeSet<String>,
}

impl Window {
    /// Whether a record with this head is in the window.
    pub fn contains(&self, head: &Head) -> bool {
        head.time >= self.from
            && head.time < self.to
            && (self.customers.is_empty() || self.customers.contains(&head.customerid))
            && (self.event_types.is_empty() || self.event_types.contains(&head.event_type))
    }
}

/// The envelope fields a replay needs; the rest of the record is sent as it is.
#[derive(Clone, Debug, Deserialize)]
pub struct Head {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(with = "ingest::order::sortable_time")]
    pub time: OffsetDateTime,
    /// The customer: the partition key.
    pub customerid: String,
}

impl Head {
    /// The head of an envelope, or `None` for a record that is not one.
    pub fn of(data: &[u8]) -> Option<Self> {
        serde_json::from_slice(data).ok()
    }
}

/// One record of the window, as it is spooled and sent again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowRecord {
    pub partition_key: String,
    pub event_id: String,
    pub event_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The record's bytes as the stream received them: an envelope, so JSON, kept in the spool
    /// as it is (readable, and cheaper to read back than base64).
    #[serde(with = "raw_json")]
    pub data: Bytes,
}

impl WindowRecord {
    /// The record if it is an envelope in `window`.
    pub fn select(window: &Window, data: Bytes) -> Option<Self> {
        let head = Head::of(&data)?;
        window.contains(&head).then(|| Self::from_head(head, data))
    }

    fn from_head(head: Head, data: Bytes) -> Self {
        Self {
            partition_key: head.customerid,
            event_id: head.id,
            event_type: head.event_type,
            time: head.time,
            data,
        }
    }
}

mod raw_json {
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::value::RawValue;

    pub fn serialize<S: Serializer>(data: &Bytes, serializer: S) -> Result<S::Ok, S::Error> {
        let text = std::str::from_utf8(data).map_err(serde::ser::Error::custom)?;
        let raw: &RawValue = serde_json::from_str(text).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
        let raw = <&RawValue>::deserialize(deserializer)?;
        Ok(Bytes::copy_from_slice(raw.get().as_bytes()))
    }
}

/// What reading a window found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadTotals {
    /// Records looked at (the window's and those around it).
    pub read: u64,
    /// Records in the window.
    pub selected: u64,
    /// Records that are not envelopes: they have no time or customer of their own, so no
    /// window holds them (the dead-letter tools handle such records).
    pub unreadable: u64,
    /// Records of the window whose event id came before (a window replayed earlier): left out.
    pub duplicates: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn envelope(customer: &str, event_type: &str, time: &str) -> Bytes {
        Bytes::from(format!(
            r#"{{"specversion":"1.0","id":"e-{customer}-{time}","type":"{event_type}","time":"{time}","customerid":"{customer}","subject":"o","data":{{}}}}"#
        ))
    }

    fn window(customers: &[&str], types: &[&str]) -> Window {
        Window {
            from: datetime!(2026-11-25 10:00 UTC),
            to: datetime!(2026-11-25 11:00 UTC),
            customers: customers.iter().map(|c| c.to_string()).collect(),
            event_types: types.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn the_window_is_half_open_on_the_events_own_time() {
        let w = window(&[], &[]);
        let at = |t| WindowRecord::select(&w, envelope("c1", "order.placed", t)).is_some();
        assert!(!at("2026-11-25T09:59:59.999Z"));
        assert!(at("2026-11-25T10:00:00.000Z"));
        assert!(at("2026-11-25T10:59:59.999Z"));
        assert!(!at("2026-11-25T11:00:00.000Z"));
    }

    #[test]
    fn customers_and_event_types_narrow_the_window() {
        let w = window(&["c1"], &["order.accounted"]);
        let t = "2026-11-25T10:30:00.000Z";
        assert!(WindowRecord::select(&w, envelope("c1", "order.accounted", t)).is_some());
        assert!(WindowRecord::select(&w, envelope("c2", "order.accounted", t)).is_none());
        assert!(WindowRecord::select(&w, envelope("c1", "order.placed", t)).is_none());
    }

    #[test]
    fn a_record_that_is_not_an_envelope_is_in_no_window() {
        assert!(WindowRecord::select(&window(&[], &[]), Bytes::from_static(b"not json")).is_none());
    }

    #[test]
    fn a_spooled_record_reads_back_byte_for_byte() {
        let record = WindowRecord::select(
            &window(&[], &[]),
            envelope("c1", "order.placed", "2026-11-25T10:30:00.000Z"),
        )
        .expect("in the window");
        let line = serde_json::to_string(&record).expect("serialises");
        let back: WindowRecord = serde_json::from_str(&line).expect("parses");
        assert_eq!(back, record);
        assert_eq!(back.partition_key, "c1");
    }
}
