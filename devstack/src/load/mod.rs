//! The load generator: an open model of a sale against the orders API.
//!
//! Requests are sent on a schedule drawn from a rate [`profile`] (Poisson arrivals at the
//! profile's rate), whether or not earlier ones have answered, so a slow pipeline shows as
//! latency and lag instead of quietly lowering the load. The [`population`] decides who sends
//! what; the [`recorder`] keeps per-second counts and HDR histograms; [`report`] writes the CSV
//! and the plot. [`run`] ties them together against a local pipeline or a deployed stack, and
//! can inject a [`fault`] into the local one for a window of the run.

pub mod fault;
pub mod population;
pub mod profile;
pub mod recorder;
pub mod report;
mod run;
mod watch;

pub use run::{LoadError, LocalView, PhaseResult, RunOptions, Summary, Target, Tokens, run};
