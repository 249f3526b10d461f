//! Analytics: where the archive lives in S3 and how its objects are named ([`layout`]), shared
//! by the local Firehose stand-in and, through `archive-layout.json`, the Pulumi program.
//!
//! The Athena named queries, the Parquet tables and the replay tool are not built yet.

pub mod layout;
