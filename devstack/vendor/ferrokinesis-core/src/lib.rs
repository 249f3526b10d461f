#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod capture;
pub mod constants;
pub mod error;
pub mod operation;
pub mod sequence;
pub mod shard_iterator;
pub mod types;
pub mod util;
pub mod validation;
