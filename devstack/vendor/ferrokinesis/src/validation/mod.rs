pub use ferrokinesis_core::validation::*;
