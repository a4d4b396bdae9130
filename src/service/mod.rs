//! Interactions, orchestrated: plan the SQL, run it, assemble the resources. The only layer
//! besides [`crate::http`] and [`crate::db`] that performs I/O.

pub mod everything;
pub mod include;
pub mod read;
pub mod rows;
pub mod search;
