pub use ferrokinesis_core::constants::*;
