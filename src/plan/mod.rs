//! Query planning: typed request + mapping → parameterized SQL for a dialect. Pure, no I/O.
//!
//! One entry point per interaction, each taking the request's [`Scope`] (conditions every
//! statement must carry):
//! - [`search()`]: the page statement of a search (sources in one `UNION ALL`, keyset paging,
//!   `_sort`), and its count or estimate statements — also what includes, compartment
//!   searches and `$everything` run;
//! - [`read()`]: one resource by id; [`exists()`]: whether one exists.
//!
//! Inside: [`criteria`] dispatches each criterion to its parameter type's predicate writer in
//! [`crate::search`] ([`location`]: in the row or a child table; [`missing`]: `:missing`;
//! [`keys`]: many ids as one `IN` list), [`chain`] writes chains and `_has`; [`page`],
//! [`keyset`] and [`sort`] the page statement; [`context`] and [`scope`] how every source is
//! read.

pub mod chain;
pub mod context;
pub mod criteria;
pub mod keys;
pub mod keyset;
pub mod location;
pub mod lookup;
pub mod missing;
pub mod page;
pub mod parts;
pub mod read;
pub mod scope;
pub mod search;
pub mod sort;
pub mod sql_param;
pub mod subquery;

pub use read::{ReadChildren, ReadPlan, exists, read};
pub use scope::Scope;
pub use search::{SearchPlan, Total, search, search_sized};

/// Most keys bound in one statement (far below every backend's parameter limit): longer lists
/// (child rows of a page, included resources) are read in several statements.
pub const MAX_KEYS_PER_STATEMENT: usize = 1000;

/// Why a search cannot be planned (the client's request cannot be answered as asked).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A value that cannot be used.
    #[error("{0}")]
    InvalidValue(String),
    /// Something this server does not support.
    #[error("{0}")]
    Unsupported(String),
}
