use bytes::Bytes;
use time::OffsetDateTime;

/// One Kinesis record as the handlers see it, whichever host delivered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamRecord {
    pub shard_id: String,
    pub sequence_number: String,
    pub partition_key: String,
    /// The payload, taken over from the SDK's buffer without a copy.
    pub data: Bytes,
    /// When Kinesis accepted the record (`ApproximateArrivalTimestamp`): what the record age
    /// limit is measured from.
    pub arrived_at: OffsetDateTime,
}
