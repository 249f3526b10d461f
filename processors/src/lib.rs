//! The stream consumers. Each is a plain handler over one Kinesis record
//! ([`batch::RecordHandler`]); [`batch::process_batch`] lifts it over a batch, and a host runs it:
//! on AWS Lambda ([`host::lambda`]) or as a standalone enhanced fan-out consumer ([`host::efo`]).
//!
//! [`query`] is the read side of the orders API over the table the materialiser fills.

pub mod batch;
pub mod checkpoint;
pub mod host;
pub mod materialiser;
pub mod metrics;
pub mod query;
pub mod record;
pub mod store;
