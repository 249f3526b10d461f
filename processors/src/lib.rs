//! The stream consumers. Each is a plain handler over one Kinesis record
//! ([`batch::RecordHandler`]); the engine ([`batch::Engine`]) lifts it over a batch, with
//! per-customer concurrency, attempt and age limits ([`failures`]) and dead letters
//! ([`dead_letter`]), and a host runs it: on AWS Lambda ([`host::lambda`]) or as standalone
//! enhanced fan-out workers that share the shards through leases ([`host::efo`], [`lease`]).
//!
//! [`query`] hosts the read side of the orders API ([`ingest::query`]) on Lambda, over the table
//! the materialiser fills.

pub mod batch;
pub mod capacity;
pub mod dead_letter;
pub mod deadline;
pub mod failures;
pub mod host;
pub mod lease;
pub mod materialiser;
pub mod metrics;
pub mod query;
pub mod record;
pub mod redrive;
pub mod saga;
pub mod store;

pub use ingest::error_chain;
