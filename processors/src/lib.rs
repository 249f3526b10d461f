//! The stream consumers. Each is a plain handler over one Kinesis record
//! ([`batch::RecordHandler`]); the engine ([`batch::Engine`]) lifts it over a batch, with
//! per-customer concurrency, attempt and age limits ([`failures`]) and dead letters
//! ([`dead_letter`]), and a host runs it: on AWS Lambda ([`host::lambda`]) or as a standalone
//! enhanced fan-out consumer ([`host::efo`]).
//!
//! [`query`] is the read side of the orders API over the table the materialiser fills.

pub mod batch;
pub mod checkpoint;
pub mod dead_letter;
pub mod failures;
pub mod host;
pub mod materialiser;
pub mod metrics;
pub mod query;
pub mod record;
pub mod redrive;
pub mod saga;
pub mod store;

/// An error and every cause under it, "outer: inner: innermost", so that logs show the root
/// cause and not only "dispatch failure".
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !chain.ends_with(&text) {
            chain.push_str(": ");
            chain.push_str(&text);
        }
        source = cause.source();
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_chain_names_every_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("dispatch failure")]
        struct Outer(#[source] std::io::Error);
        let error = Outer(std::io::Error::other("connection refused"));
        assert_eq!(error_chain(&error), "dispatch failure: connection refused");
    }
}
