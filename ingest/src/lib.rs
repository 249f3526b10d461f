//! The entry of the orders pipeline: the order contract, its validation, the Kinesis producer
//! and the local gateway that serves the same HTTP contract as API Gateway.

pub mod auth;
pub mod config;
pub mod envelope;
pub mod gateway;
pub mod order;
pub mod producer;
pub mod schema;
pub mod violation;
