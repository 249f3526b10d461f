pub use ferrokinesis_core::shard_iterator::*;
