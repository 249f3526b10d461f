//! Analytics: where the archive lives in S3 and how its objects are named ([`layout`], shared
//! with the Pulumi program through `archive-layout.json`), reading it ([`archive`]), the analyst
//! tables built from it ([`tables`]), the records Firehose could not deliver ([`errors`]), the named queries run locally ([`sql`]), and replaying a
//! window of the stream's events from the stream or the archive ([`replay`]).

pub mod archive;
pub mod errors;
pub mod layout;
#[cfg(feature = "replay")]
pub mod replay;
#[cfg(feature = "sql")]
pub mod sql;
pub mod tables;
