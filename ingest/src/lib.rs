//! The entry of the orders pipeline.
//!
//! Always built, and all a consumer or Lambda links: the order contract (`order`, `envelope`,
//! `lifecycle`, `violation`, `problem`), the Kinesis `producer` and the shared `config`. With the
//! `query` feature: the read side of the API (`query`). With the `gateway` feature: the local gateway that serves the same HTTP contract as API Gateway (`gateway`,
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
#[cfg(feature = "query")]
pub mod query;
#[cfg(feature = "gateway")]
pub mod schema;
pub mod violation;

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
