//! The two ways a handler runs, with no change to the handler.

pub mod efo;
pub mod lambda;
