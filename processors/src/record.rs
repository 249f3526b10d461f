/// One Kinesis record as the handlers see it, whichever host delivered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamRecord {
    pub shard_id: String,
    pub sequence_number: String,
    pub partition_key: String,
    pub data: Vec<u8>,
}
