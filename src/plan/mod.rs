//! Query planning: typed request + mapping → parameterized SQL for a dialect. Pure, no I/O.

pub mod chain;
pub mod estimate;
pub mod keyset;
pub mod layout;
pub mod page;
pub mod read;
pub mod search;
pub mod sort;

pub use layout::{ChildLayout, SourceLayout};
pub use read::KeyValue;
