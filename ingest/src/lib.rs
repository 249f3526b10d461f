//! The entry of the orders pipeline.
//!
//! Always built, and all a consumer or Lambda links: the order contract (`order`, `envelope`,
//! `lifecycle`, `violation`, `problem`), the Kinesis `producer` and the shared `config`. With the `gateway`
//! feature: the local gateway that serves the same HTTP contract as API Gateway (`gateway`,
//! `auth`, and the JSON Schema check in `schema`), with its HTTP server, JWT and CLI
//! dependencies.

#[cfg(feature = "gateway")]
pub mod auth;
pub mod config;
pub mod envelope;
#[cfg(feature = "gateway")]
pub mod gateway;
pub mod lifecycle;
pub mod order;
pub mod problem;
pub mod producer;
#[cfg(feature = "gateway")]
pub mod schema;
pub mod violation;
